# The two commands a newcomer needs (see README):
#   make run    the main job, locally, end to end
#   make test   every test: unit, integration against moto and local peers, end to end under the
#               Lambda Runtime API emulator, the deploy stack checks, and the Airflow provider on
#               real Airflow
# Everything else here is what those two are made of.

SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help tools build run test test-rust check-stack rehearsal plan bench cost

help:
	@echo "make run    - run the whole pipeline locally (build, local AWS + Kafka Connect + ad platform peers, invoke both functions)"
	@echo "make test   - install pinned tools, then run every test"
	@echo "make build  - build both Lambda zips (cargo lambda, arm64) into target/lambda/*/bootstrap.zip"
	@echo "make plan STAGE=prod REGION=eu-west-1 - show what 'serverless deploy' would change"
	@echo "make cost   - the monthly bill of docs/cost.md, measured against the local peers"

tools:
	@bash scripts/install-tools.sh

build: tools
	@bash scripts/build.sh

run: tools
	@# Same package and feature selection as the tests, so `make test` and `make run` share one build.
	$(CARGO) build --quiet --workspace --all-targets
	@"$${CARGO_TARGET_DIR:-target}/debug/local-pipeline"

test: tools
	@bash scripts/cargo-deny.sh
	@bash scripts/check-stack.sh
	@bash scripts/deploy-rehearsal.sh
	@# `serverless invoke local` error paths (its runs against the peers are Rust tests in tests/).
	SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off node --test sls/test/
	$(CARGO) test --workspace --all-targets
	@bash scripts/clippy.sh
	@# The Airflow provider and the README's DAG on real Airflow, with the cost-jobs wheel built here.
	@bash scripts/airflow-tests.sh

plan: tools
	npx serverless plan --stage $(or $(STAGE),dev) $(if $(REGION),--region $(REGION))

bench: tools
	@bash scripts/bench.sh

cost: tools
	@# docs/cost.md's tables, measured: the functions against moto and the local peers, priced.
	$(CARGO) build --quiet --workspace --all-targets
	@"$${CARGO_TARGET_DIR:-target}/debug/examples/cost-model"
