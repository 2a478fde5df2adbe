"""The doors: gRPC and HTTP (and Envoy, in `api/envoy`). Each only translates input to
`Engine.check` and the decision back; `api.decide` is the one place they share."""
