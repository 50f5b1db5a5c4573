"""Remote stations over SSH: the embedded server, one app process per session, SFTP to exports.

Only screen updates cross the weak link; the database stays next to the server.
"""

# The server hands the session's app process who logged in through an inherited pipe; this names its fd.
HANDOFF_FD_VARIABLE = "STRON_SSH_HANDOFF_FD"
# A station holder (`stron-tui station-attach`, behind an OpenSSH ForceCommand) runs the plain app with a socket
# whose fd this names: the app reports log-ins and log-outs on it, as a session's app does on its handoff socket.
REPORT_FD_VARIABLE = "STRON_SESSION_REPORT_FD"
