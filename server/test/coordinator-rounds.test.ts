// The round engine seen from the clients: a quorum given as a share, a late upload that gets
// the current teacher, and readiness over HTTP.
import { Float32LogitCodec, PROTOCOL_VERSION, type RoundTaskMessage, encodeLogitUpload, sealUpload } from '@distillate/shared';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';

import { Coordinator, quorumFor } from '../src/index.js';
import { ProtocolClient } from './protocol-client.js';

const itemIds = Array.from({ length: 150 }, (_, index) => `item-${index}`);

function logitsFor(client: ProtocolClient, task: RoundTaskMessage, sequence: number, roundId = task.roundId) {
  const probes = task.transferSet!.probeOffsets.byteLength / 4 - 1;
  const candidates = task.transferSet!.candidates.byteLength / 4;
  const payload = encodeLogitUpload(
    {
      logits: new Float32Array(probes * candidates).fill(0.5),
      probeEvidence: new Float32Array(probes).fill(1),
      candidateEvidence: new Float32Array(candidates).fill(1),
    },
    new Float32LogitCodec(),
  );
  return { protocolVersion: PROTOCOL_VERSION, roundId, upload: sealUpload({ roundId, clientId: client.clientId, sequence }, payload, client.sharedKey!) };
}

describe('quorum', () => {
  it.each([
    [3, 4, 3],
    ['50%', 4, 2],
    ['50%', 3, 2],
    ['100%', 5, 5],
    ['1%', 5, 1],
  ] as const)('quorum %s of %i participants is %i uploads', (quorum, participants, uploads) => {
    expect(quorumFor(quorum, participants)).toBe(uploads);
  });

  it.each([0, 1.5, '0%', '120%', 'half', '50'])('rejects quorum %j', (quorum) => {
    expect(() => quorumFor(quorum, 4)).toThrow(`quorum is ${JSON.stringify(quorum)}; expected a count of at least 1`);
  });
});

describe('coordinator rounds', () => {
  it('answers a late upload with the current teacher', async () => {
    const coordinator = new Coordinator({
      itemIds,
      rounds: 2,
      minClients: 2,
      quorum: '50%',
      probesPerRound: 4,
      candidatesPerRound: 10,
      roundTimeoutMs: 1_000,
      reportTimeoutMs: 1_000,
      logger: pino({ level: 'silent' }),
    });
    const url = await coordinator.start();
    onTestFinished(() => coordinator.stop());
    const [prompt, late] = [new ProtocolClient(url), new ProtocolClient(url)];
    onTestFinished(() => {
      prompt.close();
      late.close();
    });
    expect((await prompt.register()).ok).toBe(true);
    expect((await late.register()).ok).toBe(true);

    // One upload of two is the quorum of 50%, so round 1 makes a teacher at its deadline.
    const round1 = await prompt.nextTask(1);
    expect(await prompt.upload(logitsFor(prompt, round1, 1))).toEqual({ ok: true });
    await late.nextTask(2);
    expect(coordinator.roundSummaries()[0]).toMatchObject({ quorum: 1, uploads: 1, failure: null });
    const teachersBefore = late.teachers.length;
    expect(late.teachers.map((teacher) => teacher.roundId)).toEqual([1]);

    // The late client's upload for round 1 arrives while round 2 collects: it is rejected, and the client gets round 1's teacher.
    const reply = await late.upload(logitsFor(late, round1, 1));
    expect(reply).toMatchObject({ ok: false, reason: 'stale-round' });
    const resent = await late.nextTeacher(teachersBefore + 1);
    expect(resent.roundId).toBe(1);
  });

  it('reports readiness until it stops', async () => {
    const coordinator = new Coordinator({ itemIds, rounds: 1, minClients: 1, probesPerRound: 4, candidatesPerRound: 10, logger: pino({ level: 'silent' }) });
    const url = await coordinator.start();

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, state: 'waiting-for-clients' });

    await coordinator.stop();
    expect(coordinator.ready).toBe(false);
    expect(coordinator.status().state).toBe('stopped');
  });
});
