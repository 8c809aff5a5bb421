"""What only the tests use (the real parts they share with the benchmarks are in harness/).

================  ===========================================================
``apps``          the apps the tests serve (``serve``: by name, or every app at ``/<name>``)
``apps_client``   apps for the browser client's tests, served beside them
``typingapps``    apps whose roots re-render while the user types
``serve``         the ASGI app the test servers run (``tests.support.serve:app``)
``serve_oauth``   examples/oauth.py as the topologies serve it
``serving``       what every test server takes from its environment (options, logs, spread)
``pins``          pinning a browser's request to a worker that does not own its page
``featuretable``  ``pytest --feature-table``: which test covers which feature where
``faultapps``     apps the fault and hardening tests attack (``faults``)
``rawtab``        a tab that sends exactly what a test tells it, numbered as the browser does
``sse``           reading an SSE stream in-process
``wiretap``       what crosses the network, for parano mode
================  ===========================================================
"""
