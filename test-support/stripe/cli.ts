import { controlPort, serveControls } from "./control.js";
import { startStripeServer } from "./server.js";

/**
 * The Stripe-contract server as its own process, so a test can kill -9 it and start it again:
 *
 *   PORT=12111 CONTROL_PORT=12112 WEBHOOK_URL=http://127.0.0.1:3000/payments/webhooks/stripe \
 *   WEBHOOK_SECRET=whsec_test STATE_FILE=/tmp/stripe.json npx tsx test-support/stripe/cli.ts
 *
 * Prints one line `stripe-server <api url> control <control url>` once both ports listen.
 */
const env = process.env;
const stripe = await startStripeServer({
  port: Number(env.PORT ?? 0),
  ...(env.WEBHOOK_URL ? { webhookUrl: env.WEBHOOK_URL } : {}),
  ...(env.WEBHOOK_SECRET ? { webhookSecret: env.WEBHOOK_SECRET } : {}),
  ...(env.STATE_FILE ? { stateFile: env.STATE_FILE } : {}),
});
const control = await serveControls(stripe, Number(env.CONTROL_PORT ?? 0));
console.log(`stripe-server ${stripe.url} control http://127.0.0.1:${controlPort(control)}`);
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.once(signal, () => {
    control.close();
    void stripe.close().then(() => process.exit(0));
  });
