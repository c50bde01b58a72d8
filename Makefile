# The README's two commands: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.PHONY: demo test deps build services services-down lint typecheck bench chaos clean

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

deps: node_modules/.package-lock.json

build: deps
	npm run build

services:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

demo: build services
	node dist/src/cli.js demo

test: build services
	npm run lint
	npx vitest run
	node dist/src/cli.js rules validate
	node dist/src/cli.js rules test

lint: deps
	npm run lint

typecheck: deps
	npm run typecheck

bench: build services
	node dist/scripts/bench.js

chaos: build services
	node dist/test/chaos/run-chaos.js

clean:
	rm -rf dist coverage
