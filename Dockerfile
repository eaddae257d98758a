# ccodec in a container: docker run --rm -v "$PWD:/data" ccodec encode in.jpg -k 16 out.ccz
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY ccodec ./ccodec
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 ccodec \
    && rm -rf /src

USER 10001
WORKDIR /data
ENTRYPOINT ["ccodec"]
CMD ["--help"]
