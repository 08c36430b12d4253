import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xmlElements } from './xml-stream.ts';

const DOC = `<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd">
<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>2026-11-25T12:00:00Z</DATETIME><HOST_LIST>
<HOST><ID>11</ID><IP>10.0.0.1</IP><DETECTION_LIST><DETECTION><QID>38170</QID><RESULTS><![CDATA[a < b & "c"]]></RESULTS></DETECTION></DETECTION_LIST></HOST>
<HOST><ID>12</ID><TAGS><TAG id="7">prod</TAG><TAG id="8">web</TAG></TAGS><DETECTION_LIST><DETECTION><QID>1</QID></DETECTION><DETECTION><QID>2</QID></DETECTION></DETECTION_LIST></HOST>
</HOST_LIST><WARNING><CODE>1980</CODE><TEXT>1000 record limit exceeded.</TEXT><URL><![CDATA[https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/?action=list&id_min=13]]></URL></WARNING></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>`;

async function* pieces(text: string, size: number) {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const collect = async (it: AsyncIterable<{ name: string; value: unknown }>) => {
  const out: Array<{ name: string; value: unknown }> = [];
  for await (const x of it) out.push(x);
  return out;
};

describe('xmlElements', () => {
  it('hands over each selected element as an object, whatever the chunking', async () => {
    for (const size of [7, 64, 100_000]) {
      const got = await collect(
        xmlElements(pieces(DOC, size), { select: ['HOST', 'WARNING'], arrays: ['DETECTION'] }),
      );
      assert.deepEqual(
        got.map((x) => x.name),
        ['HOST', 'HOST', 'WARNING'],
      );
      assert.deepEqual(got[0].value, {
        ID: '11',
        IP: '10.0.0.1',
        DETECTION_LIST: { DETECTION: [{ QID: '38170', RESULTS: 'a < b & "c"' }] },
      });
      const second = got[1].value as any;
      assert.deepEqual(second.DETECTION_LIST.DETECTION, [{ QID: '1' }, { QID: '2' }]);
      assert.deepEqual(second.TAGS.TAG, [
        { '@id': '7', '#text': 'prod' },
        { '@id': '8', '#text': 'web' },
      ]);
      assert.equal(
        (got[2].value as any).URL,
        'https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/?action=list&id_min=13',
      );
    }
  });

  it('reports malformed XML instead of handing over half an answer silently', async () => {
    await assert.rejects(
      collect(xmlElements(pieces('<A><HOST><ID>1</ID></HOST', 5), { select: ['HOST'] })),
      /unclosed|end/i,
    );
  });
});
