"""Where objects live: ``STORAGES`` and the backends, and every request to the store.

``config`` builds ``STORAGES`` from settings; ``backends`` are the storage classes;
``objects`` reads, writes and deletes single objects (``breaker`` lets one write at a
time wait for a hanging store); ``probes`` is the cheap readiness check;
``inventory`` lists what is in the store against what the database expects;
``bucket`` holds the bucket policy and CORS rules; ``s3`` small S3 facts.
"""
