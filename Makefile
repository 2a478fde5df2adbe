# The two commands a fresh machine needs: `make serve` and `make test`.
.PHONY: serve test lint proto bench-engine clean

serve:  ## run the decision service with the shipped policies (gRPC 127.0.0.1:9090, HTTP 127.0.0.1:8080)
	@scripts/bootstrap
	.venv/bin/celgate serve $(ARGS)

test:  ## run the whole test suite (installs what it needs first)
	@scripts/bootstrap --system
	.venv/bin/pytest $(ARGS)

lint:  ## ruff, generated code up to date, buf lint, policy library checks
	@scripts/bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	scripts/check-generated
	.venv/bin/celgate check --strict policies
	.venv/bin/celgate test policies --coverage --strict

bench-engine:  ## engine latency table (docs/performance.md)
	@scripts/bootstrap
	.venv/bin/python bench/engine/run.py

clean:
	rm -rf .venv .pytest_cache .ruff_cache .hypothesis
