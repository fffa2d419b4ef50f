"""`mailprov check`: internal services must not answer from outside (rspamd's web UI)."""

from __future__ import annotations

import socket

from provisioner.probe.session import ProbeFailed, Target

RSPAMD_CONTROLLER_PORT = 11334
_TIMEOUT = 5.0


def rspamd_ui_closed(target: Target, port: int = RSPAMD_CONTROLLER_PORT) -> str:
    """The rspamd controller (web UI, learning, config) listens on loopback only."""
    try:
        with socket.create_connection((target.address, port), timeout=_TIMEOUT):
            pass
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return "no answer (filtered)"
    except OSError as exc:
        return f"unreachable ({exc.strerror or type(exc).__name__})"
    raise ProbeFailed(f"{target.address}:{port} accepts connections: rspamd's web UI must listen on 127.0.0.1 only")
