# A stand-in for python:3.11-slim when no registry can be reached: Debian
# bookworm's own python3 (3.11) on a debootstrap'd minbase root file system
# (imported as ROOTFS), a venv first on PATH where `python` and `pip` are what
# the official image gives, and the host's CA bundle and pip index (pip.conf) so pip
# reaches PyPI the way the host does, trusting the same TLS proxies. Built by tests/image/engine.py, never published.
ARG ROOTFS
FROM ${ROOTFS}

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY pip.conf /etc/pip.conf
RUN python3 -m venv /usr/local/python
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
