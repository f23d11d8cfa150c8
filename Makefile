# The front door: each target calls one script under deploy/ or bench/.
.PHONY: up down reset status logs test test-unit test-integration test-e2e test-browser test-faults bench lint check-deploy

up:                ## start PostgreSQL, Kafka, the four services, relays, consumers; load demo data
	deploy/local/up.sh

down:              ## stop every process; data stays in .run/
	deploy/local/down.sh

reset:             ## stop everything and delete the run folder and the database cluster
	deploy/local/services.sh stop
	deploy/local/kafka.sh stop
	deploy/local/postgres.sh reset
	rm -rf .run

status:            ## what is running
	-deploy/local/postgres.sh status
	-deploy/local/kafka.sh status
	-deploy/local/services.sh status

logs:              ## the tail of every log
	deploy/local/logs.sh

test:              ## the whole suite against the real stack (starts what is not running)
	deploy/local/test.sh tests

test-unit:         ## pure domain and shared-library tests; no services needed
	.venv/bin/python -m pytest tests/unit

test-integration:
	deploy/local/test.sh tests/integration

test-e2e:
	deploy/local/test.sh tests/e2e tests/reliability

test-browser:      ## the dashboard in Debian's chromium, driven by Playwright (screenshots in .run/screenshots)
	deploy/local/test.sh tests/browser

test-faults:       ## the fault tier: its own platform on three Kafka nodes, brokers, PostgreSQL, workers, SMTP failed under load
	deploy/local/faults.sh test

bench:             ## benchmarks, reported as ratios to a raw baseline measured in the same run (docs/performance.md)
	@mkdir -p .run && deploy/local/up.sh --no-demo >.run/bench-up.log 2>&1 || { tail -20 .run/bench-up.log; exit 1; }
	. .run/stack.env && .venv/bin/python bench/run.py

lint:              ## ruff: errors, pyflakes, bugbear, pyupgrade, line length
	.venv/bin/ruff check shared services contracts tests bench deploy

check-deploy:      ## render and validate the compose file, the Kubernetes overlays, alerts and dashboard offline
	deploy/check.sh
