// The application behind NGINX in the gateway cases: the repository's demo upstream (echoes JSON).
import { startDemoUpstream } from '../../devkit/demo-upstream';

startDemoUpstream({ port: 0 }).then((u) => {
  process.send?.({ port: u.port, name: 'upstream' });
  process.once('SIGTERM', () => void u.stop().then(() => process.exit(0)));
});
