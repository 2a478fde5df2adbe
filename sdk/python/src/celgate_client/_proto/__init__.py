"""Generated protobuf code (see scripts/gen-proto); not part of the public API."""
