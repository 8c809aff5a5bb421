"""Real parts the tests and the benchmarks run on: processes on free loopback ports, Chromium,
nginx and squid, redis-server (and a Cluster), several hosts of several workers.

===============  ============================================================
``processes``    ports, deadlines, child environments, a server subprocess
``chromium``     Debian's headless Chromium and its flags
``proxies``      nginx and squid in front of a server
``redisserver``  redis-server processes, and a Cluster
``hosts``        several hosts of several workers on one Redis, behind nginx
``marks``        what a test starts is what its markers say
===============  ============================================================
"""
