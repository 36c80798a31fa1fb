import { SlotList } from '../../lib/stores/memory/slot-list.js';

function contents(list: SlotList): number[] {
  const out: number[] = [];
  for (let c = 0; c < list.chunkCount; c++) {
    const chunk = list.chunk(c);
    for (let i = 0, n = list.chunkLength(c); i < n; i++) out.push(chunk[i]);
  }
  return out;
}

describe('SlotList', () => {
  it('is empty when new', () => {
    const list = new SlotList();
    expect(list.length).toBe(0);
    expect(contents(list)).toEqual([]);
  });

  it('keeps slots in order across chunk growth and full chunks', () => {
    const list = new SlotList();
    const expected: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      list.push(i * 7);
      expected.push(i * 7);
    }
    expect(list.length).toBe(10_000);
    expect(contents(list)).toEqual(expected);
    // Full chunks are 4096 slots: no chunk ever grows past that, whatever the length.
    expect(list.chunkCount).toBe(3);
    expect(list.chunk(0).length).toBe(4096);
    expect(list.chunkLength(2)).toBe(10_000 - 2 * 4096);
  });

  it('starts a new chunk exactly when one is full', () => {
    const list = new SlotList();
    for (let i = 0; i < 4096; i++) list.push(i);
    expect(list.chunkCount).toBe(1);
    list.push(4096);
    expect(list.chunkCount).toBe(2);
    expect(list.chunkLength(1)).toBe(1);
    expect(contents(list).at(-1)).toBe(4096);
  });
});
