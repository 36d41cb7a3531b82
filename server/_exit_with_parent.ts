// Preloaded (`--import`) into worker processes that the local worker scaler starts: when the IPC
// channel to the server closes (the server exited or crashed), the worker gets SIGTERM and drains
// like any stopped worker, so no orphan outlives the server. Private to server/; it imports nothing.
if (typeof process.send === "function") {
  process.once("disconnect", () => {
    process.kill(process.pid, "SIGTERM");
  });
  // Listening for "disconnect" refs the channel; unref it so it never keeps the worker alive.
  (process.channel as { unref?: () => void } | undefined)?.unref?.();
}
export {};
