"""What the tests run on: apps, servers, proxies, Redis, several hosts, and wire-level helpers.

================  ===========================================================
``servers``       ports, deadlines, child environments, a server subprocess
``apps``          the apps the tests serve (``serve``: by name, to hypercorn)
``apps_client``   apps for the browser client's tests (``serve_client``)
``faultapps``     apps the fault and hardening tests attack (``faults``)
``rawtab``        a tab that sends exactly what a test tells it, numbered as the browser does
``sse``           reading an SSE stream in-process
``wiretap``       what crosses the network, for parano mode
``proxies``       real nginx and squid in front of a server
``redisserver``   a real redis-server (and a Cluster) on free ports
``hosts``         several hosts of several workers on one Redis, behind nginx
================  ===========================================================
"""
