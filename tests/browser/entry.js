// The page loads this bundle as a classic script, the way a site without a build step would
// embed the SDK, so it only has to put the public API on window.
import { ClickstreamAnalytics, SendMode } from '@aws/clickstream-web';

window.ClickstreamAnalytics = ClickstreamAnalytics;
window.ClickstreamSendMode = SendMode;
