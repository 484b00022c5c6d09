"""Ingress: HTTP, queue and timer triggers. They validate input and start or query orchestrations."""
