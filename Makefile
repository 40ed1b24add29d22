# The README's two commands: `make cluster-smoke` (main job) and `make test`.
.PHONY: deps cluster-smoke test test-unit typecheck lint stop clean

deps:
	@bash scripts/install-deps.sh

# Clean state dir, build (or reuse) the image, boot six nodes, run the smoke suite.
cluster-smoke: deps
	npm run -s cluster -- fresh-smoke

# Harness unit tests plus the smoke suite (boots a cluster if none is up,
# stops it again at the end). Each run writes a folder reports/runs/<time>-<suite> (junit.xml, html/), reports/latest the newest.
test: deps typecheck lint
	npx vitest run

test-unit: deps
	npx vitest run --project unit

typecheck: deps
	npx tsc --noEmit -p .

# shellcheck on the scripts, yamllint on the workflows, and every .nix file
# parses (nix-instantiate --parse: no nixpkgs needed). actionlint is not in
# Debian bookworm; the flake's dev shell has it (run it there by hand).
# lint-import-circles: no import circle among the TypeScript modules (type imports count).
# lint-swallow: no `.catch(() => [])`, `.catch(() => false)`, empty `catch {}`
# and the like in tests, bench, fixtures and stacks, but in ...ForCleanup helpers,
# afterAll/afterEach, or under `// swallow-ok: <reason>`.
TS_DIRS = harness cli fixtures stacks tests bench services baremetal guests scripts
NIX_FILES = $(shell git ls-files --cached --others --exclude-standard '*.nix')
lint: deps
	shellcheck scripts/*.sh nix/test-cluster/*.sh
	yamllint -s .github/workflows .yamllint
	node scripts/lint-swallow.mjs
	node scripts/lint-import-circles.mjs $(TS_DIRS)
	@for f in $(NIX_FILES); do nix-instantiate --parse "$$f" >/dev/null 2>"$$f.parse-err.tmp" || { cat "$$f.parse-err.tmp" >&2; rm -f "$$f.parse-err.tmp"; echo "lint: $$f does not parse" >&2; exit 1; }; rm -f "$$f.parse-err.tmp"; done
	@echo "lint: $(words $(NIX_FILES)) .nix files parse"

stop:
	npm run -s cluster -- stop

clean:
	npm run -s cluster -- clean
