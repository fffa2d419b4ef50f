#!/bin/bash
# `molecule test -s SCENARIO`, one step at a time, so the steps that run our roles (converge,
# side_effect, idempotence) use Mitogen as mailprov's own runs do (provisioner/runner/strategy.py)
# while Molecule's create/destroy playbooks keep Ansible's strategy: Mitogen stalls on their
# async podman tasks ("Wait for instance(s) creation" retried until timeout).
set -euo pipefail
scenario=$1
steps=$(python -c 'import sys, yaml; print(*yaml.safe_load(open(sys.argv[1]))["scenario"]["test_sequence"])' \
	"molecule/$scenario/molecule.yml")
read -ra mitogen <<<"$(python -m provisioner.runner.strategy | tr '\n' ' ')"
for step in $steps; do
	case $step in
		converge | side_effect | idempotence) env "${mitogen[@]}" molecule "${step//_/-}" -s "$scenario" ;;
		*) molecule "${step//_/-}" -s "$scenario" ;;
	esac
done
