"""The Socket.IO side: server construction and event handlers (see docs/protocol.md)."""
