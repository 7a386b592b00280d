"""Operations: the HTTP health endpoint (``/healthz``, ``/readyz``, ``/metrics``), metrics,
structured logging with secret redaction, the container health probe and ``newswatch doctor``.

Observes the application; changes nothing in it.
"""
