import { QueuesClient, projectId, worker } from '@cloud-queues/client';

const client = new QueuesClient({ url: process.env.QUEUES_URL ?? 'http://127.0.0.1:8888', auth: projectId('demo') });
await worker(client.queue('jobs'), async (message) => {
  console.log('working on', message.body); // throw to have the message redelivered
}, { concurrency: 4, claimTtl: 60, grace: 60, wait: 20 }); // resolves after SIGTERM/Ctrl-C, once in-flight work is done
