// Preloaded (node --require) into `rpg train` by the disk-full tests where no small file system
// can be mounted: the file system "fills up" for checkpoint temp files once
// RPG_TEST_DISK_BUDGET bytes of them have been written — the write that crosses the budget is
// cut short (fewer bytes written than asked, as a nearly full disk does) and the next one fails
// with ENOSPC. Other files are written normally.
const fs = require('node:fs');
let budget = Number(process.env.RPG_TEST_DISK_BUDGET);
const tracked = new Set();
const open = fs.openSync;
fs.openSync = function (file, ...rest) {
  const fd = open.call(this, file, ...rest);
  if (/checkpoint\.bin\.tmp-\d+$/.test(String(file))) tracked.add(fd);
  return fd;
};
const close = fs.closeSync;
fs.closeSync = function (fd) {
  tracked.delete(fd);
  return close.call(this, fd);
};
const write = fs.writeSync;
fs.writeSync = function (fd, buffer, offset, length, ...rest) {
  if (!tracked.has(fd)) return write.call(this, fd, buffer, offset, length, ...rest);
  if (budget <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  const want = typeof length === 'number' ? length : buffer.length - (offset ?? 0);
  const n = Math.min(want, budget);
  budget -= n;
  return write.call(this, fd, buffer, offset ?? 0, n);
};
