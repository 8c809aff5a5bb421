"""The pages of this worker: one live app per browser tab, and how any worker reaches them.

============  ===============================================================
``page``      one tab's live app, its numbered interactions and pushed events
``registry``  this worker's pages: creation, takeover on reload, reruns, expiry
``record``    a page's record in the store (for other workers, and reruns)
``refs``      a page here or elsewhere, behind one seam (``PageRef``)
``locator``   finding the page a request names, and checking it may touch it
``owner``     answering what other workers relay for this worker's pages
``call``      what is relayed to a page's owner, and what comes back
============  ===============================================================
"""
