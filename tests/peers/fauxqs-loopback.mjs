// Starts fauxqs through its library API, because its command line (dist/cli.js) listens on every
// interface (0.0.0.0) and logs two lines per request whatever FAUXQS_LOGGER says. Here it
// listens on 127.0.0.1 only, logs only when FAUXQS_LOGGER=true, and exits cleanly on SIGINT or
// SIGTERM (so `node --cpu-prof` can write its profile).
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
    const first = args[0];
    if (first !== null && typeof first === "object" && (first.host === undefined || first.host === "0.0.0.0" || first.host === "::")) {
        args[0] = { ...first, host: "127.0.0.1" };
    } else if (typeof first === "number" && (args.length < 2 || typeof args[1] !== "string")) {
        args.splice(1, 0, "127.0.0.1");
    }
    return listen.apply(this, args);
};

const { startFauxqs } = await import("fauxqs");
await startFauxqs({ logger: process.env.FAUXQS_LOGGER === "true" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
