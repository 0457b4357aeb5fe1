package config

import "net/url"

// otelEndpoint accepts an http(s) URL with a host, or empty. Credentials
// belong in OTEL_EXPORTER_OTLP_HEADERS, not in a URL that ends up in logs.
func (c *Config) otelEndpoint() error {
	if c.OTelEndpoint == "" {
		return nil
	}
	u, err := url.Parse(c.OTelEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{Flag: "otel-endpoint", Value: RedactURL(c.OTelEndpoint), Accept: "an OTLP/HTTP collector URL such as http://127.0.0.1:4318, or empty to export no traces"}
	}
	if u.User != nil || u.RawQuery != "" {
		return &FieldError{Flag: "otel-endpoint", Value: RedactURL(c.OTelEndpoint), Accept: "a URL without user:password@ or a query; give the collector's credentials in OTEL_EXPORTER_OTLP_HEADERS"}
	}
	return nil
}
