// Apache Tomcat 10.1 (Debian's tomcat10) as an upstream: its own CATALINA_BASE in a temp dir, one
// connector on a free 127.0.0.1 port, the ROOT webapp in devkit/upstreams/tomcat (JSPs, compiled by
// Tomcat's Jasper while it starts). The connector keeps Tomcat's defaults: it cuts ";params" from
// every segment and resolves dot segments after that, so /api/x/..;/admin/y routes to /api/admin/y.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, freePort, startChild } from '../process';
import { UPSTREAMS_DIR, type Upstream } from './routes';

export interface TomcatInstall {
  /** CATALINA_HOME: bin/bootstrap.jar, lib/. */
  home: string;
  java: string;
  /** The server-wide conf/web.xml (declares Jasper's JspServlet and the default servlet). */
  defaultWebXml: string;
  catalinaProperties?: string;
}

const exists = (p: string): boolean => fs.existsSync(p);

/** The installed Tomcat (CATALINA_HOME, else Debian's /usr/share/tomcat10) and Java, or why not. */
export function findTomcat(env: NodeJS.ProcessEnv = process.env): TomcatInstall | string {
  const home = env.CATALINA_HOME ?? '/usr/share/tomcat10';
  if (!exists(path.join(home, 'bin', 'bootstrap.jar'))) return `no Tomcat at ${home} (apt-get install -y tomcat10, or set CATALINA_HOME)`;
  // Debian keeps conf/ in /etc/tomcat10; the upstream tarball under CATALINA_HOME/conf
  const conf = [path.join(home, 'conf'), '/etc/tomcat10'].find((d) => exists(path.join(d, 'web.xml')));
  if (!conf) return `no conf/web.xml for the Tomcat at ${home}`;
  const java = env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : findExecutable('java', { env });
  if (!java || !exists(java)) return 'no java (install a JDK 17, or set JAVA_HOME)';
  const props = path.join(conf, 'catalina.properties');
  return { home, java, defaultWebXml: path.join(conf, 'web.xml'), catalinaProperties: exists(props) ? props : undefined };
}

/** A Server with one HTTP/1.1 connector and no shutdown port (stopped by PID). */
const serverXml = (port: number): string => `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="${port}" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="5000" maxThreads="16" />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
`;

/** The body of a 200 answer to a GET on its own connection; '' for anything else. */
function getText(url: string): Promise<string> {
  return new Promise((resolve) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve(res.statusCode === 200 ? body : ''));
        res.on('error', () => resolve(''));
      })
      .on('error', () => resolve(''));
  });
}

// Start-up time: the C1 compiler only and the serial collector suit a short-lived test JVM.
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx256m', '-Djava.awt.headless=true'];

async function startOnce(t: TomcatInstall, timeoutMs: number): Promise<Upstream> {
  const t0 = Date.now();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-tomcat-'));
  try {
    for (const d of ['conf', 'logs', 'temp', 'work', 'webapps']) fs.mkdirSync(path.join(base, d));
    fs.copyFileSync(t.defaultWebXml, path.join(base, 'conf', 'web.xml'));
    if (t.catalinaProperties) fs.copyFileSync(t.catalinaProperties, path.join(base, 'conf', 'catalina.properties'));
    fs.cpSync(path.join(UPSTREAMS_DIR, 'tomcat', 'ROOT'), path.join(base, 'webapps', 'ROOT'), { recursive: true });
  } catch (err) {
    fs.rmSync(base, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  fs.writeFileSync(path.join(base, 'conf', 'server.xml'), serverXml(port));
  const cp = ['bootstrap.jar', 'tomcat-juli.jar'].map((j) => path.join(t.home, 'bin', j)).join(path.delimiter);
  const url = `http://127.0.0.1:${port}`;
  const c = await startChild(
    t.java,
    [
      ...JVM_FLAGS,
      `-Dcatalina.home=${t.home}`,
      `-Dcatalina.base=${base}`,
      `-Djava.io.tmpdir=${path.join(base, 'temp')}`,
      '-cp',
      cp,
      'org.apache.catalina.startup.Bootstrap',
      'start',
    ],
    {
      name: 'tomcat upstream',
      cwd: base,
      tmpDir: base,
      env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' },
      timeoutMs,
      ready: {
        poll: async (child) => {
          // a port taken between freePort() and the bind: Tomcat logs it and keeps running without a connector
          if (/BindException|Address already in use/.test(child.logs())) throw Object.assign(new Error('port taken'), { portTaken: true });
          return (await getText(`${url}/api/ready`)).includes('"server":"tomcat"') ? true : undefined;
        },
      },
    },
  );
  return {
    name: 'tomcat',
    url,
    host: `127.0.0.1:${port}`,
    startMs: Date.now() - t0,
    pid: c.pid,
    logs: c.logs,
    // SIGKILL: nothing to persist, and Tomcat's orderly shutdown takes ~2 s here
    stop: () => c.stop(0),
  };
}

/** Starts Tomcat (one retry when the chosen port was taken meanwhile). */
export async function startTomcat(install?: TomcatInstall, timeoutMs = 20_000): Promise<Upstream> {
  const t = install ?? findTomcat();
  if (typeof t === 'string') throw new Error(t);
  try {
    return await startOnce(t, timeoutMs);
  } catch (err) {
    if (!(err as { portTaken?: boolean }).portTaken) throw err;
    return startOnce(t, timeoutMs);
  }
}
