"""Fault drills: the real stack on loopback, a fault injected, then checks that nothing was lost."""
