# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""e2eaddr - the address helpers the e2e tools share (imported from their
directory): an address's socket family, its text in portier's form
("198.51.100.2:80", "[2001:db8:1::2]:80"), and listening sockets on both
families.

An address argument may be bracketed ("[2001:db8:1::2]"): host() strips
the brackets; the family follows from the address (a ':' is IPv6).
"""
import errno
import socket


def host(addr):
    """addr without the brackets an IPv6 address may carry."""
    return addr[1:-1] if addr.startswith("[") and addr.endswith("]") else addr


def family(addr):
    """AF_INET6 for an IPv6 address (bracketed or not), else AF_INET."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def sock(addr, kind):
    """A socket of addr's family and the given kind (SOCK_STREAM...)."""
    return socket.socket(family(addr), kind)


def peer_str(peer):
    """A socket address (host, port[, flow, scope]) as ADDR:PORT, an IPv6
    address bracketed."""
    return ("[%s]:%d" if ":" in peer[0] else "%s:%d") % (peer[0], peer[1])


def listeners(kind, port, backlog=512):
    """Sockets bound to port on every IPv4 address and, where the host has
    IPv6, every IPv6 address (IPV6_V6ONLY: an IPv4 peer is seen as IPv4,
    never as ::ffff:a.b.c.d). kind: SOCK_STREAM (listening) or SOCK_DGRAM."""
    out = []
    for fam, any_addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            s = socket.socket(fam, kind)
        except OSError as e:
            if fam == socket.AF_INET6 and e.errno == errno.EAFNOSUPPORT:
                continue
            raise
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((any_addr, port))
        except OSError as e:
            # No IPv6 in this namespace (disabled): IPv4 alone.
            if fam == socket.AF_INET6 and e.errno == errno.EADDRNOTAVAIL:
                s.close()
                continue
            raise
        if kind == socket.SOCK_STREAM:
            s.listen(backlog)
        out.append(s)
    return out
