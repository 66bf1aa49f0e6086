// Apart from the metrics server: the deployment manifests put it in the Service, the probes and
// the Prometheus annotations, and rendering them must not load the HTTP server.

/** The usual port of Node.js Prometheus exporters: where a node serves `/metrics` and `/healthz`. */
export const DEFAULT_METRICS_PORT = 9464;
