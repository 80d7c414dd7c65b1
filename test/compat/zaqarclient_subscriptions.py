#!/usr/bin/python3
"""python-zaqarclient compatibility: subscriptions and push delivery (issue 13).

Drives the *unmodified* official client (Debian python3-zaqarclient, API v2,
`noauth` backend) against a running server that delivers (local mode): it
creates, lists, updates and deletes subscriptions through the client, and a
webhook receiver on loopback (started here) checks that posted messages
arrive in Zaqar's notification format, signed with the subscription's secret.

    /usr/bin/python3 test/compat/zaqarclient_subscriptions.py BASE_URL

Prints one line per check, then exactly `N passed, M failed`; exits 1 if
anything failed (2 if the client cannot be imported).
"""

import hashlib
import hmac
import http.server
import json
import socket
import sys
import threading
import time
import uuid

try:
    from zaqarclient.queues import client as zclient
    from zaqarclient.queues.v2 import core
    from zaqarclient.transport import errors as zerrors
except ImportError as exc:  # pragma: no cover - environment problem
    print('cannot import zaqarclient with %s: %s' % (sys.executable, exc))
    print('0 passed, 1 failed')
    sys.exit(2)

from zaqarclient_workflow import check, check_eq, expect_error, run, section  # noqa: E402

BASE_URL = (sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8888').rstrip('/')
socket.setdefaulttimeout(30)
DELIVERY_TIMEOUT_S = 30


class Receiver(http.server.ThreadingHTTPServer):
    """Records every POST it gets (path, headers, raw body) and answers 204."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        super().__init__(('127.0.0.1', 0), Handler)

    @property
    def url(self):
        return 'http://127.0.0.1:%d/hook' % self.server_address[1]

    def by_path(self, path):
        with self.lock:
            return [r for r in self.received if r['path'] == path]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8')
        with self.server.lock:
            self.server.received.append({'path': self.path, 'headers': {k.lower(): v for k, v in self.headers.items()}, 'body': body})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def wait_for(predicate, timeout=DELIVERY_TIMEOUT_S):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def signed_by(secret, request):
    """The receiver's check (docs/subscriptions.md): v1=HMAC-SHA256(secret, "<timestamp>.<body>")."""
    timestamp = request['headers'].get('x-cloud-queues-timestamp', '')
    expected = 'v1=' + hmac.new(secret.encode(), ('%s.%s' % (timestamp, request['body'])).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request['headers'].get('x-cloud-queues-signature', ''))


def main():
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    project = 'compat-subs-%s' % uuid.uuid4().hex
    cli = zclient.Client(BASE_URL, version=2, conf={'auth_opts': {'backend': 'noauth', 'options': {'os_project_id': project}}})
    qname = 'compat-subs-%s' % uuid.uuid4().hex[:10]
    queue = cli.queue(qname)
    print('# base URL %s, project %s, receiver %s' % (BASE_URL, project, receiver.url))

    try:
        with section('create and read'):
            sub = cli.subscription(qname, subscriber=receiver.url + '/a', ttl=3600, options={'post_headers': {'X-From': 'compat'}})
            check('create returns an id', bool(sub.id), repr(sub.id))
            check_eq('subscriber read back', sub.subscriber, receiver.url + '/a')
            check_eq('ttl read back', sub.ttl, 3600)
            check_eq('options read back', sub.options, {'post_headers': {'X-From': 'compat'}})
            check('age is a number', isinstance(sub.age, int), repr(sub.age))
            second = cli.subscription(qname, subscriber=receiver.url + '/b', ttl=3600)
            again = cli.subscription(qname, subscriber=receiver.url + '/b', ttl=3600)
            check_eq('the same subscriber again answers the same id (Zaqar)', again.id, second.id)

        with section('list'):
            listed = list(cli.subscriptions(qname))
            check_eq('both subscriptions listed in creation order', [s.id for s in listed], [sub.id, second.id])
            check_eq('listed subscriber', listed[0].subscriber, receiver.url + '/a')
            page = list(cli.subscriptions(qname, limit=1))
            check_eq('limit=1 pages', len(page), 1)

        with section('update'):
            sub.update({'ttl': 7200, 'options': {'post_headers': {'X-From': 'compat-updated'}}})
            fresh = cli.subscription(qname, id=sub.id)  # GETs it
            check_eq('ttl updated', fresh.ttl, 7200)
            check_eq('options updated', fresh.options, {'post_headers': {'X-From': 'compat-updated'}})

        with section('bad input'):
            expect_error('mailto subscriber -> MalformedRequest (no email sender)', zerrors.MalformedRequest,
                         lambda: cli.subscription(qname, subscriber='mailto:ops@example.com', ttl=3600))
            expect_error('ftp subscriber -> MalformedRequest', zerrors.MalformedRequest,
                         lambda: cli.subscription(qname, subscriber='ftp://example.com/x', ttl=3600))
            expect_error('ttl 0 -> MalformedRequest', zerrors.MalformedRequest,
                         lambda: cli.subscription(qname, subscriber=receiver.url + '/c', ttl=0))

        with section('deliveries'):
            # The client's Subscription keeps only Zaqar's fields: the secret is read through its core layer.
            req, trans = cli._request_and_transport()
            secret = core.subscription_get(trans, req, qname, sub.id)['signing_secret']
            queue.post([{'body': {'n': i}, 'ttl': 300} for i in range(5)])
            check('every message delivered to each subscriber',
                  wait_for(lambda: len(receiver.by_path('/hook/a')) >= 5 and len(receiver.by_path('/hook/b')) >= 5),
                  '%d to /a, %d to /b' % (len(receiver.by_path('/hook/a')), len(receiver.by_path('/hook/b'))))
            got = receiver.by_path('/hook/a')
            docs = sorted((json.loads(r['body']) for r in got), key=lambda d: d['body']['n'])
            check_eq('Zaqar notification format', docs[0], {'body': {'n': 0}, 'ttl': 300, 'queue_name': qname, 'Message_Type': 'Notification'})
            check_eq('each message once (distinct message ids)', len({r['headers']['x-cloud-queues-message-id'] for r in got}), 5)
            check('post_headers honoured', all(r['headers'].get('x-from') == 'compat-updated' for r in got))
            check('signed with the subscription secret', all(signed_by(secret, r) for r in got))
            check('not verifiable with another secret', not any(signed_by(secret + 'x', r) for r in got))

        with section('delete'):
            second.delete()
            check_eq('deleted subscription no longer listed', [s.id for s in cli.subscriptions(qname)], [sub.id])
            before = len(receiver.by_path('/hook/b'))
            queue.post({'body': 'after delete', 'ttl': 300})
            check('the remaining subscriber still receives', wait_for(lambda: len(receiver.by_path('/hook/a')) >= 6))
            check_eq('the deleted one receives nothing more', len(receiver.by_path('/hook/b')), before)
            sub.delete()
            check_eq('no subscriptions left', list(cli.subscriptions(qname)), [])
            expect_error('reading a deleted subscription -> ResourceNotFound', zerrors.ResourceNotFound,
                         lambda: cli.subscription(qname, id=sub.id))
            sub.delete()
            check('deleting it again is idempotent (204)', True)
    finally:
        queue.delete()
        receiver.shutdown()


if __name__ == '__main__':
    run(main)
