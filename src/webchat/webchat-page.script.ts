/**
 * The hosted page's own script, served as /webchat/assets/page.js (a file of its own, so the page's CSP allows no
 * inline script). Kept in a TypeScript module so the build carries it like any other source.
 */
export const PAGE_SCRIPT = `// The hosted web chat page: asks for a name (or takes ?name=), gets a user-bound token from the page's session
// route, and starts Microsoft's Web Chat against this service's Direct Line.
(function () {
  var gatewayId = document.body.getAttribute('data-gateway');
  var form = document.getElementById('start');
  var status = document.getElementById('status');
  var root = document.getElementById('webchat');

  function start(name) {
    form.hidden = true;
    status.textContent = 'Connecting…';
    fetch('/webchat/' + encodeURIComponent(gatewayId) + '/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(name ? { name: name } : {}),
    })
      .then(function (res) {
        if (!res.ok) throw new Error('the chat could not start (HTTP ' + res.status + ')');
        return res.json();
      })
      .then(function (session) {
        status.textContent = '';
        root.hidden = false;
        // The token carries the user's id (dl_...): Direct Line forces it on what the user sends, so Web Chat is not
        // given a userID of its own (it refuses dl_ ids chosen by a page).
        window.WebChat.renderWebChat(
          { directLine: window.WebChat.createDirectLine({ token: session.token, domain: session.domain }), username: session.userName || undefined },
          root,
        );
      })
      .catch(function (error) {
        status.textContent = error.message;
        form.hidden = false;
      });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    start(document.getElementById('name').value.trim());
  });
  var preset = new URLSearchParams(window.location.search).get('name');
  if (preset !== null) start(preset.trim());
})();
`;
