# omq's container image: a static binary on distroless, running as non-root.
#   make image                      (docker build with VERSION and COMMIT)
#   docker run --rm omq:dev version
# Build stage: the Go of go.mod, no cgo, so the binary needs no libc.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/openmoove/omq/internal/cli.Version=${VERSION} -X github.com/openmoove/omq/internal/cli.Commit=${COMMIT}" \
      -o /out/omq ./cmd/omq \
 && mkdir -p /out/data

# Runtime: no shell, no package manager; user nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/omq /omq
COPY --from=build --chown=65532:65532 /out/data /var/lib/omq
USER 65532:65532
# Listen beyond the container's loopback; the data dir is a volume for the
# embedded server (unused with --nats-url).
ENV OMQ_HTTP=0.0.0.0:8080 \
    OMQ_DATA_DIR=/var/lib/omq \
    OMQ_LOG_FORMAT=json
VOLUME /var/lib/omq
# 8080: health, metrics, ingest, webhooks.
EXPOSE 8080
ENTRYPOINT ["/omq"]
CMD ["run"]
