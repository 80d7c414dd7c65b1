#!/usr/bin/python3
"""python-zaqarclient compatibility workflow (issue 8).

Drives the *unmodified* official client (Debian python3-zaqarclient 2.4,
API v2, `noauth` backend sending X-Project-Id) against a running server and
asserts on every result.

    /usr/bin/python3 test/compat/zaqarclient_workflow.py [BASE_URL]

BASE_URL defaults to http://127.0.0.1:8888. Every run uses a random project id
and random queue names, so runs never see each other's data. Prints one line
per check, then exactly `N passed, M failed`; exits 1 if anything failed
(2 if the client cannot be imported).

If the client and the server disagree, fix the server (match Zaqar), not this
script. See docs/zaqarclient-notes.md for what the client expects.
"""

import contextlib
import socket
import sys
import traceback
import uuid
from urllib.parse import parse_qs, urlsplit

try:
    from zaqarclient.queues import client as zclient
    from zaqarclient.queues.v1 import core
    from zaqarclient.transport import errors as zerrors
except ImportError as exc:  # pragma: no cover - environment problem
    print('cannot import zaqarclient with %s: %s' % (sys.executable, exc))
    print('0 passed, 1 failed')
    sys.exit(2)

BASE_URL = (sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8888')
BASE_URL = BASE_URL.rstrip('/')

# requests has no default timeout; never hang the test run on a stuck server.
socket.setdefaulttimeout(30)

RESULTS = {'passed': 0, 'failed': 0}


def check(name, ok, detail=''):
    if ok:
        RESULTS['passed'] += 1
        print('ok   - %s' % name)
    else:
        RESULTS['failed'] += 1
        print('FAIL - %s%s' % (name, (': %s' % detail) if detail else ''))
    sys.stdout.flush()
    return ok


def check_eq(name, actual, expected):
    return check(name, actual == expected,
                 'expected %r, got %r' % (expected, actual))


@contextlib.contextmanager
def section(name):
    """Runs a group of checks; an unexpected exception is one failed check."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - report and carry on
        tb = traceback.format_exc().strip().splitlines()
        where = tb[-3].strip() if len(tb) >= 3 else ''
        check('%s (unexpected %s: %s) [%s]'
              % (name, type(exc).__name__, exc, where), False)


def expect_error(name, exc_class, fn):
    """Checks that fn() raises exc_class (the client's mapping of a status)."""
    try:
        fn()
    except exc_class:
        return check(name, True)
    except Exception as exc:  # noqa: BLE001
        return check(name, False, 'expected %s, got %s: %s'
                     % (exc_class.__name__, type(exc).__name__, exc))
    return check(name, False, 'expected %s, got no error' % exc_class.__name__)


def make_client(project, client_uuid=None):
    conf = {'auth_opts': {'backend': 'noauth',
                          'options': {'os_project_id': project}}}
    if client_uuid is not None:
        conf['client_uuid'] = client_uuid
    return zclient.Client(BASE_URL, version=2, conf=conf)


def raw_delete_message(cli, queue_name, message_id, claim_id=None):
    """DELETE /v2/queues/q/messages/id[?claim_id=] via the client's own core
    layer (Message.delete() always takes the claim id from the href)."""
    req, trans = cli._request_and_transport()
    core.message_delete(trans, req, queue_name, message_id, claim_id)


def mid(message):
    """Message id. Messages from a claim GET are built with the client's v1
    Message class, which keeps the id in `_id` instead of `id`."""
    return getattr(message, 'id', None) or getattr(message, '_id')


def next_marker(iterator):
    """Marker from the `next` link of a listing page (what .stream() follows)."""
    for link in iterator._links:
        if link.get('rel') == 'next':
            qs = parse_qs(urlsplit(link['href']).query)
            return qs.get('marker', [None])[0]
    return None


def main():
    run = uuid.uuid4().hex[:10]
    project = 'compat-%s' % uuid.uuid4().hex
    print('# base URL %s, project %s' % (BASE_URL, project))

    # Producer and consumer: same project, different Client-IDs (the client
    # generates them as 32 hex digits without dashes).
    producer = make_client(project)
    consumer = make_client(project)
    check('producer and consumer have distinct dashless Client-IDs',
          producer.client_uuid != consumer.client_uuid
          and '-' not in producer.client_uuid)

    qname = 'compat-%s-main' % run
    list_names = sorted(['compat-%s-%s' % (run, s) for s in ('a', 'b', 'c')])
    missing_name = 'compat-%s-missing' % run
    all_names = sorted([qname] + list_names)
    # Queue handles; constructing them sends nothing (v2 queues are lazy).
    q = producer.queue(qname, auto_create=False)
    cq = consumer.queue(qname, auto_create=False)

    # ---------------------------------------------------------------- health
    if not check('ping() is True (GET /v2/ping)', producer.ping() is True):
        # ping() swallows every error; one more call says why, then stop:
        # nothing below can pass against an unreachable or broken server.
        with section('server reachable'):
            producer.health()
        return
    with section('health'):
        health = producer.health()
        check('health() returns a JSON object (GET /v2/health)',
              isinstance(health, dict), repr(health))
    with section('homedoc'):
        home = producer.homedoc()
        check('homedoc() returns a JSON-home object (GET /v2/)',
              isinstance(home, dict) and 'resources' in home, repr(home)[:200])

    # ---------------------------------------------------------------- queues
    with section('create queues'):
        created = producer.queue(qname, force_create=True)  # PUT, no body
        check_eq('queue created, name kept', created.name, qname)
        for name in list_names:
            producer.queue(name, force_create=True)
        # PUT on an existing queue is fine too (204).
        producer.queue(qname, force_create=True)
        check('re-creating an existing queue is not an error', True)

    with section('metadata'):
        meta = q.metadata(new_meta={'color': 'blue', 'size': 3})
        check_eq('set metadata returns new metadata (color)',
                 meta.get('color'), 'blue')
        check_eq('set metadata returns new metadata (size)', meta.get('size'), 3)
        meta = q.metadata(force_reload=True)
        check('get metadata has the keys that were set',
              meta.get('color') == 'blue' and meta.get('size') == 3, repr(meta))
        check('get metadata includes reserved defaults',
              '_default_message_ttl' in meta
              and '_max_messages_post_size' in meta, repr(meta))
        # replace one key, remove the other; the client also sends `remove`
        # for every reserved `_...` key that GET returned, which must succeed.
        meta = q.metadata(new_meta={'color': 'red'})
        check_eq('update metadata replaces a key', meta.get('color'), 'red')
        check('update metadata removes omitted keys', 'size' not in meta,
              repr(meta))
        meta = q.metadata(force_reload=True)
        check('reloaded metadata matches the update',
              meta.get('color') == 'red' and 'size' not in meta, repr(meta))

    with section('list queues with paging'):
        page, count = producer.queues(limit=2, with_count=True)
        names = [x.name for x in page]
        check_eq('first page of 2 queues, alphabetical', names, all_names[:2])
        check_eq('with_count gives the number of queues', count, len(all_names))
        page, _ = producer.queues(limit=2)
        names = [x.name for x in page.stream()]
        check_eq('stream() follows next links through every page',
                 names, all_names)
        page, _ = producer.queues(marker=all_names[1], limit=2)
        names = [x.name for x in page]
        check_eq('marker starts strictly after the given queue',
                 names, all_names[2:4])
        page, _ = producer.queues(detailed=True)
        listed = {x.name: x for x in page}
        page, _ = producer.queues(name='compat-%s-m' % run, limit=20)
        check_eq('name filter lists the queues it matches',
                 [x.name for x in page], [qname])
        check('detailed listing carries metadata',
              qname in listed
              and (listed[qname]._metadata or {}).get('color') == 'red',
              repr({k: v._metadata for k, v in listed.items()}))

    # -------------------------------------------------------------- messages
    ids = []
    with section('post messages'):
        res = q.post({'body': {'event': 'single', 'i': 0}, 'ttl': 300})
        hrefs = res.get('resources') if isinstance(res, dict) else None
        check('single post returns 1 resource href',
              isinstance(hrefs, list) and len(hrefs) == 1, repr(res))
        check('resource href is /v2/queues/<q>/messages/<id>',
              hrefs[0].startswith('/v2/queues/%s/messages/' % qname), hrefs[0])
        ids.append(hrefs[0].rsplit('/', 1)[-1])
        res = q.post([{'body': {'event': 'batch', 'i': i}, 'ttl': 300}
                      for i in range(1, 6)])
        hrefs = res.get('resources') if isinstance(res, dict) else None
        check('batch post returns 5 resource hrefs',
              isinstance(hrefs, list) and len(hrefs) == 5, repr(res))
        ids.extend(h.rsplit('/', 1)[-1] for h in hrefs)
        check('message ids are distinct', len(set(ids)) == 6, repr(ids))

    with section('list messages with echo and marker'):
        own = list(q.messages())
        check_eq('echo off (default) hides the caller\'s own messages',
                 len(own), 0)
        page = q.messages(echo=True, limit=3)
        msgs = list(page)
        check_eq('echo=True, limit=3: first 3 messages in posting order',
                 [m.id for m in msgs], ids[:3])
        check('listed message has ttl/age/body/href',
              msgs and msgs[0].ttl == 300 and msgs[0].age >= 0
              and msgs[0].body == {'event': 'single', 'i': 0}
              and msgs[0].href.endswith('/messages/%s' % ids[0]),
              repr(msgs[:1] and vars(msgs[0])))
        marker = next_marker(page)
        check('non-empty page carries a next link with a marker',
              marker is not None, repr(page._links))
        msgs = list(q.messages(echo=True, limit=3, marker=marker))
        check_eq('marker continues after the previous page',
                 [m.id for m in msgs], ids[3:6])
        msgs = list(q.messages(echo=True, limit=2).stream())
        check_eq('stream() pages through all messages (limit=2)',
                 [m.id for m in msgs], ids)
        msgs = list(cq.messages(limit=10))
        check_eq('another Client-ID sees all messages without echo',
                 [m.id for m in msgs], ids)

    with section('get messages by id and ids'):
        m = q.message(ids[0])
        check('get by id returns the message',
              m.id == ids[0] and m.body == {'event': 'single', 'i': 0}
              and m.ttl == 300, repr(vars(m)))
        got = list(q.messages(ids[1], ids[2]))
        check_eq('get by ids returns those messages',
                 sorted(x.id for x in got), sorted(ids[1:3]))
        check('get by ids bodies match',
              sorted(x.body['i'] for x in got) == [1, 2],
              repr([x.body for x in got]))

    # ---------------------------------------------------------------- claims
    claim = None
    claimed = []
    with section('claim'):
        claim = cq.claim(ttl=120, grace=60, limit=2)
        check('claim has an id (from the message href ?claim_id=)',
              bool(claim.id), repr(claim.id))
        claimed = list(claim)
        check_eq('claim limit=2 returns the 2 oldest messages',
                 [x.id for x in claimed], ids[:2])
        check('claimed message hrefs carry ?claim_id=<claim id>',
              all(x.claim_id == claim.id and '?claim_id=' in x.href
                  for x in claimed), repr([x.href for x in claimed]))
        visible = [x.id for x in cq.messages(limit=10)]
        check_eq('claimed messages are hidden from listing', visible, ids[2:])
        visible = [x.id for x in cq.messages(limit=10, include_claimed=True)]
        check_eq('include_claimed=True lists them', visible, ids)
        stats = cq.stats
        check_eq('queue stats while claimed',
                 {k: stats['messages'].get(k) for k in ('free', 'claimed',
                                                        'total')},
                 {'free': 4, 'claimed': 2, 'total': 6})

    with section('get claim'):
        got = cq.claim(id=claim.id)
        check_eq('get claim ttl', got.ttl, 120)
        check('get claim age is a non-negative number',
              isinstance(got.age, (int, float)) and got.age >= 0)
        check_eq('get claim lists its messages',
                 [mid(x) for x in got], [x.id for x in claimed])

    with section('renew claim'):
        claim.update(ttl=300, grace=60)
        check_eq('renewed claim ttl', cq.claim(id=claim.id).ttl, 300)
        expect_error('renew with ttl below 60 -> MalformedRequest',
                     zerrors.MalformedRequest, lambda: claim.update(ttl=10))

    with section('delete claimed messages'):
        expect_error('deleting a claimed message without claim_id -> 403',
                     zerrors.ForbiddenError,
                     lambda: raw_delete_message(producer, qname, claimed[0].id))
        bogus = uuid.uuid4().hex
        expect_error('deleting with a wrong claim_id -> 400',
                     zerrors.MalformedRequest,
                     lambda: raw_delete_message(producer, qname, claimed[0].id,
                                                bogus))
        claimed[0].delete()  # DELETE .../messages/<id>?claim_id=<cid>
        expect_error('message deleted with its claim id is gone (404)',
                     zerrors.ResourceNotFound,
                     lambda: q.message(claimed[0].id))

    with section('bad claim id'):
        bogus = uuid.uuid4().hex
        expect_error('get unknown claim -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: cq.claim(id=bogus).age)
        expect_error('renew unknown claim -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: cq.claim(id=bogus).update(ttl=120))
        cq.claim(id=bogus).delete()
        check('release unknown claim is idempotent (204)', True)
        expect_error('claim ttl below 60 -> MalformedRequest',
                     zerrors.MalformedRequest,
                     lambda: cq.claim(ttl=10, grace=60))
        expect_error('claim grace above 43200 -> MalformedRequest',
                     zerrors.MalformedRequest,
                     lambda: cq.claim(ttl=60, grace=43201))
        # Without ttl/grace the client sends {"ttl": null, "grace": null};
        # Zaqar answers 400 ("must be a int"), and so do we.
        expect_error('claim with the client\'s null ttl/grace -> '
                     'MalformedRequest', zerrors.MalformedRequest,
                     lambda: cq.claim(limit=1))

    with section('release claim'):
        claim.delete()
        expect_error('released claim is gone',
                     zerrors.ResourceNotFound, lambda: cq.claim(id=claim.id).age)
        visible = [x.id for x in cq.messages(limit=10)]
        check_eq('released message is visible again at once',
                 visible, ids[1:])

    with section('claim on an empty queue'):
        # nothing claimable (here: a queue that was never created) -> 204
        nothing = consumer.queue(missing_name).claim(ttl=60, grace=60)
        check('claim with nothing to claim (204) has no id', nothing.id is None,
              repr(nothing.id))
        check_eq('claim with nothing to claim has no messages',
                 list(nothing), [])

    # ------------------------------------------------------- pop and delete
    remaining = ids[1:]
    with section('pop'):
        popped = list(cq.pop(count=2))
        popped_ids = [x.id for x in popped]
        check('pop count=2 returns 2 distinct remaining messages',
              len(set(popped_ids)) == 2
              and set(popped_ids) <= set(remaining), repr(popped_ids))
        check('popped messages carry bodies',
              all(isinstance(x.body, dict) and 'i' in x.body for x in popped),
              repr([x.body for x in popped]))
        for pid in popped_ids:
            expect_error('popped message %s is gone' % pid[:8],
                         zerrors.ResourceNotFound, lambda pid=pid: q.message(pid))
        remaining = [i for i in remaining if i not in popped_ids]
        check_eq('3 messages remain', len(remaining), 3)

    with section('delete by ids'):
        q.delete_messages(*remaining)
        check_eq('listing is empty after delete by ids',
                 list(cq.messages(limit=10)), [])
        expect_error('get by ids of deleted messages -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: list(q.messages(*remaining)))

    with section('queue stats'):
        stats = q.stats
        check_eq('stats after everything was consumed',
                 {k: stats['messages'].get(k) for k in ('free', 'claimed',
                                                        'total')},
                 {'free': 0, 'claimed': 0, 'total': 0})

    pname = 'compat-%s-purge' % run
    pq = producer.queue(pname, auto_create=False)
    with section('delete an unclaimed message'):
        res = pq.post({'body': 'one', 'ttl': 300})
        one = res['resources'][0].rsplit('/', 1)[-1]
        m = pq.message(one)
        check('unclaimed message has no claim id', m.claim_id is None,
              repr(m.href))
        m.delete()  # DELETE .../messages/<id>, no claim_id
        expect_error('deleted message is gone (404)',
                     zerrors.ResourceNotFound, lambda: pq.message(one))
        m.delete()
        check('deleting it again is idempotent (204)', True)

    with section('purge'):
        pq.post([{'body': i, 'ttl': 300} for i in range(3)])
        pq.purge(resource_types=['messages'])
        check_eq('purge messages empties the queue',
                 pq.stats['messages'].get('total'), 0)
        pq.post([{'body': i, 'ttl': 300} for i in range(2)])
        pq.purge()  # no body: every resource type
        check_eq('purge without resource_types empties the queue',
                 pq.stats['messages'].get('total'), 0)
        check_eq('purge keeps the queue',
                 [x.name for x in producer.queues(name=pname)[0]], [pname])
        expect_error('purge of an unknown resource type -> MalformedRequest',
                     zerrors.MalformedRequest,
                     lambda: pq.purge(resource_types=['claims']))
        pq.delete()

    # ----------------------------------------------------------- error paths
    mq = producer.queue(missing_name)  # never created
    with section('missing queue'):
        expect_error('get message on a missing queue -> ResourceNotFound',
                     zerrors.ResourceNotFound, lambda: mq.message(ids[0]))
        expect_error('get by ids on a missing queue -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: list(mq.messages(ids[0], ids[1])))
        expect_error('update metadata of a missing queue -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: mq.metadata(new_meta={'a': 1}))
        expect_error('get claim on a missing queue -> ResourceNotFound',
                     zerrors.ResourceNotFound,
                     lambda: mq.claim(id=uuid.uuid4().hex).ttl)
        check_eq('listing a missing queue is empty, not an error',
                 list(mq.messages(echo=True)), [])
        stats = mq.stats
        check_eq('stats of a missing queue are zeros',
                 stats['messages'].get('total'), 0)
        listed = [x.name for x in producer.queues(limit=20)[0]]
        check('reading a missing queue does not create it',
              missing_name not in listed, repr(listed))

    with section('bad input'):
        expect_error('message ttl below 60 -> MalformedRequest',
                     zerrors.MalformedRequest,
                     lambda: q.post({'body': 1, 'ttl': 10}))
        expect_error('claim limit above 20 -> MalformedRequest',
                     zerrors.MalformedRequest,
                     lambda: cq.claim(ttl=60, grace=60, limit=21))
        expect_error('pop above 20 -> MalformedRequest',
                     zerrors.MalformedRequest, lambda: list(cq.pop(count=21)))

    # ---------------------------------------------------------- delete queue
    with section('delete queue'):
        q.post({'body': 'left behind', 'ttl': 300})
        q.delete()
        listed = [x.name for x in producer.queues(limit=20)[0]]
        check('deleted queue is no longer listed', qname not in listed,
              repr(listed))
        check_eq('deleted queue has no messages left',
                 list(q.messages(echo=True)), [])
        q.delete()
        check('deleting a missing queue is idempotent (204)', True)
        for name in list_names:
            producer.queue(name, auto_create=False).delete()
        check_eq('project has no queues left',
                 [x.name for x in producer.queues()[0]], [])


def run(workflow):
    """Runs a workflow, prints the summary line and exits 1 if any check failed."""
    try:
        workflow()
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        check('workflow aborted: %s: %s' % (type(exc).__name__, exc), False)
    print('%d passed, %d failed' % (RESULTS['passed'], RESULTS['failed']))
    sys.exit(1 if RESULTS['failed'] else 0)


if __name__ == '__main__':
    run(main)
