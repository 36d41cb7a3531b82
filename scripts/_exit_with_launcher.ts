// Preloaded (`node --import .build/scripts/_exit_with_launcher.js .build/<folder>/main.js`, built by
// processCommand) into every process
// `npm start` launches. The launcher runs its children in process groups of their own (so a terminal's
// Ctrl-C reaches only the launcher, which then stops them in order) and gives each an IPC channel:
// when the launcher dies without stopping them (kill -9), the channel closes and the child stops
// itself with SIGTERM, running its own graceful shutdown. Nothing is ever sent over the channel.
if (process.channel) {
  process.once("disconnect", () => {
    process.kill(process.pid, "SIGTERM");
  });
  // Listening for "disconnect" keeps the channel referenced; let the process exit on its own terms.
  process.channel.unref();
}
