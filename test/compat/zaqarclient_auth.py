#!/usr/bin/python3
"""python-zaqarclient authentication workflows: signed URLs and pre-issued tokens.

Drives the *unmodified* official client (Debian python3-zaqarclient 2.4, API v2):

    /usr/bin/python3 test/compat/zaqarclient_auth.py BASE_URL noauth
    /usr/bin/python3 test/compat/zaqarclient_auth.py BASE_URL token TOKEN OTHER_TOKEN BAD_TOKEN

`noauth`: the owner of the queue uses the `noauth` backend (X-Project-Id), as
against `npm start`. `token`: the server behaves like a deployment (Lambda
authorizer) and the owner uses the `keystone` backend with a pre-issued token
and an endpoint, which sends exactly `X-Auth-Token`; OTHER_TOKEN is a valid
token of another project, BAD_TOKEN one the server must refuse.

Either way, the owner shares one queue with `Queue.signed_url()` and a second
client that holds nothing but that grant (the `signed-url` backend) reads,
claims, renews, deletes with its claim and releases; every tampered field,
another queue, method or path is `ResourceNotFound` (Zaqar's 404), and nothing
is changed by a refused request. Prints one line per check, then exactly
`N passed, M failed`; exits 1 if anything failed.
"""

import socket
import sys
import uuid

from zaqarclient_workflow import check, check_eq, expect_error, section, RESULTS

try:
    from zaqarclient.queues import client as zclient
    from zaqarclient.transport import errors as zerrors
except ImportError as exc:  # pragma: no cover - environment problem
    print('cannot import zaqarclient with %s: %s' % (sys.executable, exc))
    print('0 passed, 1 failed')
    sys.exit(2)

socket.setdefaulttimeout(30)

BASE_URL = sys.argv[1].rstrip('/')
MODE = sys.argv[2]
TOKENS = sys.argv[3:6]


def client(backend, options):
    return zclient.Client(BASE_URL, version=2,
                          conf={'auth_opts': {'backend': backend,
                                              'options': options}})


def signed_client(grant, **tamper):
    """A client holding only `grant` (python-zaqarclient's signed-url backend)."""
    options = {'paths': grant['paths'], 'expires': grant['expires'],
               'methods': grant['methods'], 'signature': grant['signature'],
               'os_project_id': grant['project']}
    options.update(tamper)
    return client('signed-url', options)


def bodies(queue):
    return [m.body for m in queue.messages(echo=True)]


def main():
    run = uuid.uuid4().hex[:10]
    if MODE == 'token':
        token, other_token, bad_token = TOKENS
        # A pre-issued token and an endpoint: the keystone backend sends
        # X-Auth-Token and nothing else (no Keystone round trip).
        owner = client('keystone', {'os_auth_token': token})
        with section('token'):
            name = 'auth-%s-token' % run
            q = owner.queue(name, force_create=True)
            q.post([{'body': {'k': 1}}])
            check_eq('keystone backend with os_auth_token: the token works',
                     bodies(q), [{'k': 1}])
            stranger = client('keystone', {'os_auth_token': other_token})
            check_eq('another project\'s token sees none of it',
                     bodies(stranger.queue(name, auto_create=False)), [])
            # The project is the token's: a header naming ours changes nothing.
            spoof = client('keystone', {'os_auth_token': other_token,
                                        'os_project_id': 'whatever'})
            check_eq('X-Project-Id next to a token is ignored',
                     bodies(spoof.queue(name, auto_create=False)), [])
            expect_error('a refused token -> UnauthorizedError',
                         zerrors.UnauthorizedError,
                         lambda: bodies(client('keystone', {'os_auth_token': bad_token})
                                        .queue(name, auto_create=False)))
            q.delete()
    else:
        owner = client('noauth', {'os_project_id': 'auth-%s' % uuid.uuid4().hex})

    name = 'auth-%s-shared' % run
    other = 'auth-%s-other' % run
    q = owner.queue(name, force_create=True)
    q.post([{'body': {'n': n}, 'ttl': 300} for n in (1, 2, 3)])
    owner.queue(other, force_create=True).post([{'body': 'other'}])

    with section('share'):
        grant = q.signed_url(paths=['messages', 'claims'],
                             methods=['GET', 'POST', 'PATCH', 'DELETE'],
                             ttl_seconds=3600)
        check_eq('signed_url() answers Zaqar\'s keys', sorted(grant),
                 ['expires', 'methods', 'paths', 'project', 'signature'])
        check_eq('paths are the queue\'s, sorted', grant['paths'],
                 ['/v2/queues/%s/claims' % name,
                  '/v2/queues/%s/messages' % name])
        check_eq('methods sorted', grant['methods'],
                 ['DELETE', 'GET', 'PATCH', 'POST'])
        default = q.signed_url()
        check_eq('default grant: GET on messages', (default['methods'], default['paths']),
                 (['GET'], ['/v2/queues/%s/messages' % name]))
        expect_error('an unknown path -> MalformedRequest',
                     zerrors.MalformedRequest,
                     lambda: q.signed_url(paths=['queues']))

    with section('signed-url client'):
        agent = signed_client(grant)
        sq = agent.queue(name, auto_create=False)
        check_eq('lists the shared queue', bodies(sq),
                 [{'n': 1}, {'n': 2}, {'n': 3}])
        claim = sq.claim(ttl=60, grace=60, limit=2)
        claimed = list(claim)
        check_eq('claims two', [m.body for m in claimed], [{'n': 1}, {'n': 2}])
        claim.update(ttl=120, grace=60)
        check('renews its claim (PATCH)', True)
        claimed[0].delete()
        check('deletes a message with its claim id', True)
        claim.delete()
        check('releases the claim', True)
        sq.post([{'body': {'n': 4}}])
        check_eq('posts (POST on messages was granted)', bodies(q),
                 [{'n': 2}, {'n': 3}, {'n': 4}])

        expect_error('stats (path not granted) -> ResourceNotFound',
                     zerrors.ResourceNotFound, lambda: sq.stats)
        expect_error('another queue -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: bodies(agent.queue(other, auto_create=False)))
        expect_error('deleting the queue -> ResourceNotFound',
                     zerrors.ResourceNotFound, sq.delete)
        expect_error('sharing again -> ResourceNotFound',
                     zerrors.ResourceNotFound, sq.signed_url)
        expect_error('listing queues -> ResourceNotFound',
                     zerrors.ResourceNotFound, lambda: list(agent.queues()[0]))

        readonly = signed_client(default).queue(name, auto_create=False)
        check_eq('a GET-only grant reads', len(bodies(readonly)), 3)
        expect_error('a GET-only grant cannot post -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: readonly.post([{'body': 'intruder'}]))
        expect_error('a GET-only grant cannot pop -> ResourceNotFound',
                     zerrors.ResourceNotFound, lambda: readonly.pop(1))

    with section('tampering'):
        flipped = grant['signature'][:-1] + ('0' if grant['signature'][-1] != '0' else '1')
        cases = [
            ('signature', {'signature': flipped}),
            ('expires', {'expires': '2999-01-01T00:00:00'}),
            ('methods', {'methods': grant['methods'] + ['PUT']}),
            ('paths', {'paths': ['/v2/queues/%s/messages' % other]}),
            ('project', {'os_project_id': grant['project'] + 'x'}),
        ]
        for field, tamper in cases:
            tq = signed_client(grant, **tamper).queue(name, auto_create=False)
            expect_error('tampered %s: read -> ResourceNotFound' % field,
                         zerrors.ResourceNotFound, lambda: bodies(tq))
            expect_error('tampered %s: post -> ResourceNotFound' % field,
                         zerrors.ResourceNotFound,
                         lambda: tq.post([{'body': 'intruder'}]))
        check_eq('nothing was changed by a refused request', bodies(q),
                 [{'n': 2}, {'n': 3}, {'n': 4}])
        check_eq('the other queue is untouched',
                 bodies(owner.queue(other, auto_create=False)), ['other'])

    q.delete()
    owner.queue(other, auto_create=False).delete()
    print('%d passed, %d failed' % (RESULTS['passed'], RESULTS['failed']))
    return 1 if RESULTS['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
