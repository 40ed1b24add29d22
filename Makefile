# The README's two commands: `make cluster-smoke` (main job) and `make test`.
.PHONY: deps cluster-smoke test test-unit typecheck stop clean

deps:
	@bash scripts/install-deps.sh

# Clean state dir, build (or reuse) the image, boot six nodes, run the smoke suite.
cluster-smoke: deps
	npm run -s cluster -- fresh-smoke

# Harness unit tests plus the smoke suite (boots a cluster if none is up,
# stops it again at the end). JUnit XML lands in reports/junit.xml.
test: deps typecheck
	npx vitest run

test-unit: deps
	npx vitest run --project unit

typecheck: deps
	npx tsc --noEmit -p .

stop:
	npm run -s cluster -- stop

clean:
	npm run -s cluster -- clean
