"""SFTP, the transport of the file-speaking channels (flat files, EDI): `SftpExchange` is the
`connectors.file_exchange.FileExchange` over an SSH connection, and `server` starts a real SFTP
server on a local folder (the sandbox of every such channel, and the tests' partner).

Built on AsyncSSH (asyncssh on PyPI, https://asyncssh.readthedocs.io): its client and server
speak SFTP version 3 with the OpenSSH extensions (`posix-rename@openssh.com`, which replaces
the target in one step, as OpenSSH's sftp-server does).
"""

from connectors.sftp_exchange.client import SftpAccess, SftpExchange

__all__ = ["SftpAccess", "SftpExchange"]
