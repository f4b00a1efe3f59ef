import { z } from 'zod';

/**
 * The device's one configuration file (`kiosk.config.json`), shared by the kiosk service, the sync agent and the
 * provisioning CLI. Every key has a development default, so an empty file (or none) runs the kiosk on simulated
 * devices. docs/configuration.md is generated from this schema (`npm run docs:config`).
 */
/** An object whose default is what its own fields default to, so no default is written twice. */
function defaulted<T extends z.ZodObject>(schema: T) {
  return schema.default(schema.parse({}) as z.util.NoUndefined<z.output<T>>);
}

/** One upstream's endpoint: https only (mTLS), never credentials in the URL (they would end up in logs). */
function upstreamEndpoint(url: string, description: string, timeoutMs = 15_000) {
  return z
    .object({
      url: z
        .url({ protocol: /^https$/ })
        .refine((u) => !/^https:\/\/[^/]*@/.test(u), 'no user or password in the URL: the client certificate authenticates the device')
        .default(url)
        .describe('Base URL (https).'),
      timeoutMs: z.number().int().min(100).max(120_000).default(timeoutMs).describe('Per-request timeout (connect to last byte).'),
    })
    .default({ url, timeoutMs })
    .describe(description);
}

export const configSchema = z
  .object({
    device: z
      .object({
        id: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/).default('dev-kiosk-01').describe('Device identifier, as enrolled in the fleet.'),
        site: z.string().min(1).max(64).default('dev').describe('Site code (one-stop counter or hospital) the device is installed at.'),
        profile: z
          .enum(['public-service', 'hospital', 'notary'])
          .default('public-service')
          .describe('Which flows the kiosk offers and which verification policy applies.'),
      })
      .default({ id: 'dev-kiosk-01', site: 'dev', profile: 'public-service' })
      .describe('Identity of this device.'),
    service: z
      .object({
        host: z.enum(['127.0.0.1', '::1']).default('127.0.0.1').describe('Loopback address the local API and UI bind to; nothing else is allowed.'),
        port: z.number().int().min(0).max(65535).default(8470).describe('TCP port of the local API and UI (0 = any free port).'),
      })
      .default({ host: '127.0.0.1', port: 8470 })
      .describe('The kiosk service (local API and UI server).'),
    devices: z
      .object({
        mode: z
          .enum(['simulated', 'real'])
          .default('simulated')
          .describe('Use simulated devices (development, CI, demos: the screen shows a permanent TEST banner) or the real hardware drivers. Defaults to simulated only outside production: with NODE_ENV=production it must be set.'),
        cardReader: z.string().default('').describe('Substring of the PC/SC reader name to use. Real mode: required, and a virtual reader (vpcd, ...) is refused (CARD_READER_REFUSED). Simulated mode: empty = first reader that holds a card.'),
        cameraFrames: z
          .string()
          .default('data/sim/camera')
          .describe('Simulated camera: directory of image files played as frames, written at set-up by `kiosk-sim setup` (run by `npm start`; `kiosk-sim camera-frames --persona ID` shows another persona). The kiosk refuses to start when it is missing or empty (CAMERA_START_FAILED); empty = no simulated camera, the face step is not performed. Not read with real devices.'),
        simTrustFolder: z
          .string()
          .default('data/sim/trust')
          .describe('Simulated devices: trust-store folder of the test PKI (its CSCAs and CRL, which sign the virtual cards), written at set-up by `kiosk-sim setup` or `kiosk-sim trust` (run by `npm start`); trusted when trust.folder holds no CSCA, and then it must hold one (TRUST_STORE_MISSING). Never read with real devices; never the same folder as trust.folder.'),
        cameraFps: z.number().min(1).max(60).default(15).describe('Simulated camera frames per second.'),
      })
      .default({ mode: 'simulated', cardReader: '', cameraFrames: 'data/sim/camera', simTrustFolder: 'data/sim/trust', cameraFps: 15 })
      .describe('Device drivers.'),
    qr: z
      .object({
        decoder: z
          .enum(['pipeline', 'zxing-wasm', 'zxing-js', 'jsqr'])
          .default('pipeline')
          .describe('QR decoding of camera frames: the pipeline (zxing-wasm first, harder attempts and the other decoders on failure) or one decoder alone.'),
        frameBudgetMs: z.number().int().min(5).max(1000).default(25).describe('Milliseconds the pipeline may spend on one camera frame before the next frame continues its attempts.'),
        repeatWindowMs: z.number().int().min(0).max(60000).default(2000).describe('A code still in view is reported once: the same text within this many ms of its last sighting is a repeat.'),
      })
      .default({ decoder: 'pipeline', frameBudgetMs: 25, repeatWindowMs: 2000 })
      .describe('QR codes from the camera (docs/qr.md).'),
    face: z
      .object({
        manifest: z.string().default('').describe('Face model manifest (JSON: file, sha256, input/output spec, licence per model); empty = device-drivers/models/face-models.json. A model swap is a new manifest, not code.'),
        threads: z.number().int().min(1).max(8).default(1).describe('onnxruntime intra-op threads per face model session.'),
        thresholds: z
          .object({
            'public-service': z.number().min(-1).max(1).default(0.4),
            hospital: z.number().min(-1).max(1).default(0.4),
            notary: z.number().min(-1).max(1).default(0.45),
          })
          .default({ 'public-service': 0.4, hospital: 0.4, notary: 0.45 })
          .describe('Cosine similarity at or above which the chip photo and the live face match, per device profile; calibrated on the few pairs available here (docs/face.md): re-calibrate on consented local captures before deployment.'),
        minFaceSize: z.number().int().min(16).max(2000).default(60).describe('Smallest face side in pixels in a live frame.'),
        minSharpness: z.number().min(0).default(50).describe('Smallest Laplacian variance of the aligned 112x112 face; below it the frame is flagged blurred.'),
        maxYaw: z.number().min(0).max(90).default(30).describe('Largest head yaw (degrees) for a usable live frame.'),
        maxPitch: z.number().min(0).max(90).default(30).describe('Largest head pitch (degrees) for a usable live frame.'),
        liveness: z
          .object({
            challenge: z.enum(['none', 'blink', 'turn-left', 'turn-right']).default('blink').describe('Active liveness challenge before the match.'),
            maxFrames: z.number().int().min(5).max(1000).default(90).describe('Frames the citizen has to complete the challenge.'),
            turnDegrees: z.number().min(5).max(60).default(20).describe('Yaw (degrees) a head-turn challenge asks for.'),
            passive: z.boolean().default(false).describe('Also compute the passive anti-spoofing score (UNVALIDATED: logged, never decides).'),
          })
          .default({ challenge: 'blink', maxFrames: 90, turnDegrees: 20, passive: false })
          .describe('Liveness settings.'),
      })
      .default({
        manifest: '',
        threads: 1,
        thresholds: { 'public-service': 0.4, hospital: 0.4, notary: 0.45 },
        minFaceSize: 60,
        minSharpness: 50,
        maxYaw: 30,
        maxPitch: 30,
        liveness: { challenge: 'blink', maxFrames: 90, turnDegrees: 20, passive: false },
      })
      .describe('Face match of the chip photo against the live camera (docs/face.md).'),
    ui: z
      .object({
        locale: z.enum(['vi', 'en']).default('vi').describe('Language the UI starts in; the citizen can switch.'),
        idleResetSeconds: z.number().int().min(10).max(600).default(60).describe('Seconds without a touch before the screen is cleared of personal data and returns to the start page.'),
        browser: z.string().default('/usr/bin/chromium').describe('Browser executable for the kiosk window when Electron is not used.'),
      })
      .default({ locale: 'vi', idleResetSeconds: 60, browser: '/usr/bin/chromium' })
      .describe('The kiosk screen.'),
    trust: z
      .object({
        folder: z.string().min(1).default('data/trust').describe('Trust-store folder of CSCA certificates and CRLs (csca/*.der, crl/*.der, as `kiosk-card trust` writes them, plus PEM/DER files at its top level); docs/verification.md.'),
        pins: z
          .array(
            z.object({
              fingerprint: z.string().regex(/^[0-9a-fA-F:]{64,95}$/).describe('SHA-256 of the CSCA certificate DER, hex (colons allowed).'),
              country: z.string().length(2).describe('ISO 3166-1 alpha-2 country the certificate must name.'),
              note: z.string().optional(),
            }),
          )
          .default([])
          .describe('Pinned CSCA certificates (e.g. Vietnam\'s, which is not in the public PKD): trusted wherever read from, and the anchors a master list import must chain to.'),
        acceptWithoutCsca: z
          .array(
            z
              .string()
              .regex(/^[A-Z]{1,3}$/, 'an ICAO 9303-3 issuing state code, e.g. KHM')
              .refine((state) => state !== 'VNM', 'Vietnamese cards must always chain to a trusted CSCA: VNM cannot be listed'),
          )
          .default([])
          .describe('Issuing states (ICAO codes, e.g. KHM) whose documents this deployment takes without their CSCA in the trust store: such a card is never accepted as valid, it is recorded as needs-review and sent to staff. Empty = every document must chain to a trusted CSCA.'),
      })
      .default({ folder: 'data/trust', pins: [], acceptWithoutCsca: [] })
      .describe('Document verification trust store (docs/verification.md); the policy is the device profile\'s (public-service, hospital or notary).'),
    store: z
      .object({
        path: z.string().min(1).default('data/kiosk-store.db').describe('SQLite database file of the transaction store (WAL mode: the -wal and -shm files sit next to it).'),
        keyFile: z.string().min(1).default('data/store-wrap.key').describe('Device key file (32 random bytes, mode 0600) that wraps the data keys; created on first start; refused when group/other can read it.'),
        signingKeyFile: z.string().min(1).default('data/store-signing.pem').describe('Ed25519 private key (PKCS#8 PEM, mode 0600) that signs audit-log checkpoints; created on first start.'),
        retentionDays: z.number().int().min(0).max(3650).default(30).describe('Days personal fields are kept after every delivery of a transaction succeeded; then they are erased (0 = right after delivery).'),
        busyTimeoutMs: z.number().int().min(0).max(60000).default(5000).describe('How long a write waits for the other process (kiosk service or sync agent) to release the database.'),
        checkpointEvery: z.number().int().min(1).max(100000).default(100).describe('A signed audit checkpoint is written after this many audit entries.'),
      })
      .default({ path: 'data/kiosk-store.db', keyFile: 'data/store-wrap.key', signingKeyFile: 'data/store-signing.pem', retentionDays: 30, busyTimeoutMs: 5000, checkpointEvery: 100 })
      .describe('The local transaction store (docs/store.md).'),
    sync: defaulted(
      z.object({
        clientCert: z.string().min(1).default('data/sync/device.pem').describe('PEM client certificate the sync agent presents to the upstream servers (mTLS); reloaded when the file changes (docs/sync.md).'),
        clientKey: z.string().min(1).default('data/sync/device-key.pem').describe('PEM private key of the client certificate (mode 0600); reloaded with it.'),
        upstreamCa: z.string().min(1).default('data/sync/ca.pem').describe('PEM CA certificate(s) the upstream server certificates must chain to: the only trust anchors, the system store is never used.'),
        upstreams: defaulted(
          z.object({
            'city-tthc': upstreamEndpoint('https://localhost:7441', 'The city administrative-procedure (one-stop, TTHC) system: dossiers (contract sync-agent/contracts/city-tthc.openapi.yaml).'),
            'population-lgsp': upstreamEndpoint('https://localhost:7442', 'The population-data check through the city integration platform (LGSP) (population-lgsp.openapi.yaml).'),
            'hospital-fhir': upstreamEndpoint('https://localhost:7443', 'The hospital information system, HL7 FHIR R4 (hospital-fhir.openapi.yaml).'),
            'bhyt-check': upstreamEndpoint('https://localhost:7444', 'The health-insurance (BHYT) card check, a live lookup (bhyt-check.openapi.yaml); its timeout is short, the citizen is waiting.', 3000),
          }),
        ).describe('Where each upstream is: base URL (https only) and request timeout. The defaults are the embedded simulators `npm start` runs.'),
        agent: defaulted(
          z.object({
            port: z.number().int().min(1).max(65535).default(7480).describe('Port of the agent\'s local endpoint on 127.0.0.1 (health, Prometheus metrics, flush notifications from the kiosk).'),
            tokenFile: z.string().min(1).default('data/sync/agent.token').describe('File (mode 0600) holding the token the kiosk presents to notify the agent of new rows; written by the agent at start.'),
            pollIntervalMs: z.number().int().min(100).max(3_600_000).default(5000).describe('Backstop poll of the outbox when no notification came.'),
            batchSize: z.number().int().min(1).max(1000).default(50).describe('Deliveries claimed and sent per upstream per round.'),
            concurrency: z.number().int().min(1).max(64).default(8).describe('Requests in flight per upstream (keep-alive connections).'),
            reconcileIntervalMs: z.number().int().min(60_000).max(86_400_000 * 7).default(3_600_000).describe('How often the agent asks each upstream which acknowledged deliveries it still holds (a restored upstream loses some); also done at once when an upstream reports fewer than were delivered.'),
          }),
        ).describe('The sync agent process (`kiosk-sync run`).'),
      }),
    ).describe('The sync agent: mTLS to the upstream systems (docs/sync.md).'),
    services: defaulted(
      z.object({
        publicService: defaulted(
          z.object({
            demoProcedureCode: z
              .string()
              .regex(/^[0-9]\.[0-9]{6}$/, 'a National Public Service Portal procedure code, e.g. 1.004222')
              .default('1.004222')
              .describe('Procedure code of the one dossier the public-service profile offers until the procedure catalogue exists: "Xác nhận thông tin về cư trú" (residence information confirmation; portal record https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=273057). The default is a placeholder in the portal\'s format: the procedure\'s own code was not in the public text found; set the code the city\'s one-stop system uses.'),
          }),
        ).describe('The public-service profile\'s dossier submission (docs/kiosk-flow.md).'),
      }),
    ).describe('Services the kiosk offers after an accepted identity check.'),
    provisioning: defaulted(
      z.object({
        pkcs11: defaulted(
          z.object({
            module: z.string().min(1).default('/usr/lib/softhsm/libsofthsm2.so').describe('PKCS#11 module (shared library) of the token holding the device key; a TPM-backed module (tpm2-pkcs11) in production.'),
            tokenLabel: z.string().max(32).default('').describe('Label of the PKCS#11 token holding the device identity key and the store keys; empty = no token, the keys are 0600 files (sync.clientKey, store.keyFile, store.signingKeyFile). Written by `kiosk-provision init --pkcs11-token`.'),
            pinFile: z.string().default('').describe('File (mode 0600, no line break) holding the token\'s user PIN; empty = the KIOSK_PKCS11_PIN environment variable.'),
          }),
        ).describe('The PKCS#11 token of the device key (docs/provisioning.md).'),
      }),
    ).describe('Device enrollment by `kiosk-provision init` (docs/provisioning.md).'),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level; personal data is redacted at every level.'),
      })
      .default({ level: 'info' })
      .describe('Logging.'),
  })
  .strict();

export type KioskConfig = z.infer<typeof configSchema>;
