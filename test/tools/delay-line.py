#!/usr/bin/env python3
"""delay-line.py: a layer-2 delay line for linkwatch's tests (Python 3 standard library only).

What: forwards every Ethernet frame between two interfaces, holding each one for a fixed delay per direction.
Why:  a TCP connect probe times the handshake, which the kernel answers, so a user-space proxy cannot delay it, and
      test kernels may lack `tc netem` (sch_netem). Delaying whole frames between two namespaces delays the SYN, the
      SYN-ACK, ICMP echoes and everything else, exactly as a slow link would.
How:  run inside a network namespace that has no addresses and holds one end of two veth pairs; the other ends sit
      in the client's and the target's namespaces on one subnet, so frames must cross this script:

          ip netns exec M python3 test/tools/delay-line.py IF_A IF_B --ab 20 --ba 20

      It prints `ready` once both sockets are bound (with `--realtime` it asks for SCHED_FIFO priority 1: it
      sleeps in select() nearly all the time, and wakes on time on a busy machine). On standard input it accepts `delay AB BA` (milliseconds,
      answered `ok AB BA`), `stats` (answered with a JSON line) and `quit`; it also exits at end of input, so it
      dies with its parent. test/helpers/delay-line.ts builds the topology and drives it.

Details: two AF_PACKET/SOCK_RAW/ETH_P_ALL sockets, one bound to each interface. Frames the socket reports as
PACKET_OUTGOING (ones this script sent) are skipped, so nothing loops. PACKET_VNET_HDR carries the kernel's
checksum-offload and GSO state across with each frame, so a frame whose checksum the sender left to "hardware" is
not dropped as corrupt at the far end, and a TSO/GRO super-frame is re-segmented on output; no ethtool needed.
Frames wait in a heap keyed on their due time on time.monotonic(); select() sleeps until the next one is due.
"""
import argparse
import ctypes
import heapq
import json
import os
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
BUF = 256 * 1024


def open_side(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


def sharpen_timing(realtime: bool) -> str:
    """Timer slack to 1 ns (select wakes when asked, not up to 50 us later) and, if asked and allowed, SCHED_FIFO."""
    notes = []
    try:
        PR_SET_TIMERSLACK = 29
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0) == 0:
            notes.append('slack=1ns')
    except (OSError, AttributeError):
        pass
    if realtime:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
            notes.append('fifo')
        except (OSError, AttributeError):
            notes.append('no-fifo')
    return ' '.join(notes)


def main() -> int:
    ap = argparse.ArgumentParser(description='Forward frames between two interfaces after a fixed delay.')
    ap.add_argument('if_a')
    ap.add_argument('if_b')
    ap.add_argument('--ab', type=float, default=0.0, help='delay of frames from IF_A to IF_B, ms')
    ap.add_argument('--ba', type=float, default=0.0, help='delay of frames from IF_B to IF_A, ms')
    ap.add_argument('--realtime', action='store_true', help='try SCHED_FIFO priority 1 (root): less wake-up jitter')
    ap.add_argument('--max-queue', type=int, default=100_000, help='frames held at most; more are dropped')
    args = ap.parse_args()

    a, b = open_side(args.if_a), open_side(args.if_b)
    delay = {a.fileno(): args.ab / 1000.0, b.fileno(): args.ba / 1000.0}
    out = {a.fileno(): b, b.fileno(): a}
    name = {a.fileno(): 'ab', b.fileno(): 'ba'}
    stats = {'ab': 0, 'ba': 0, 'dropped': 0, 'send_errors': 0, 'max_late_ms': 0.0}
    heap: list = []  # (due, seq, out socket, frame)
    seq = 0
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, 'raw') else sys.stdin.buffer
    stdin_fd = stdin.fileno()
    os.set_blocking(stdin_fd, False)
    pending = b''
    print(f'ready {sharpen_timing(args.realtime)}'.rstrip(), flush=True)

    while True:
        # Send everything that is due.
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            due, _, sock, frame = heapq.heappop(heap)
            late = (now - due) * 1000.0
            if late > stats['max_late_ms']:
                stats['max_late_ms'] = round(late, 3)
            try:
                sock.send(frame)
            except OSError:
                stats['send_errors'] += 1
            now = time.monotonic()
        timeout = max(0.0, heap[0][0] - now) if heap else None
        readable, _, _ = select.select([a, b, stdin_fd], [], [], timeout)
        for r in readable:
            if r == stdin_fd:
                chunk = os.read(stdin_fd, 4096)
                if not chunk:
                    return 0
                pending += chunk
                while b'\n' in pending:
                    line, pending = pending.split(b'\n', 1)
                    words = line.decode().split()
                    if words[:1] == ['delay'] and len(words) == 3:
                        delay[a.fileno()], delay[b.fileno()] = float(words[1]) / 1000.0, float(words[2]) / 1000.0
                        print(f'ok {words[1]} {words[2]}', flush=True)
                    elif words == ['stats']:
                        print(json.dumps({**stats, 'queued': len(heap)}), flush=True)
                    elif words == ['quit']:
                        return 0
                    elif words:
                        print(f'error unknown command {line.decode()!r}', flush=True)
                continue
            fd = r.fileno()
            for _ in range(1000):  # bounded drain
                try:
                    frame, addr = r.recvfrom(BUF)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                arrived = time.monotonic()
                if len(heap) >= args.max_queue:
                    stats['dropped'] += 1
                    continue
                seq += 1
                stats[name[fd]] += 1
                heapq.heappush(heap, (arrived + delay[fd], seq, out[fd], frame))


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
