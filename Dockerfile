# ccodec in a container: docker run --rm -v "$PWD:/data" ccodec encode in.jpg -k 16 out.ccz
# The compiled module is built in the full Python image, which has a C compiler; the image
# shipped is the slim one with the built wheel installed, and no compiler.
FROM python:3.12 AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY ccodec ./ccodec
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 ccodec

USER 10001
WORKDIR /data
ENTRYPOINT ["ccodec"]
CMD ["--help"]
