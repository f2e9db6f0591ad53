// Switchboard widget loader. On any site:
//
//   <script src="https://HOST/widget.js" data-bot="BOT_ID" data-token="WS_TOKEN" async></script>
//
// shows a "Chat with us" button that opens the chat (an iframe of
// https://HOST/?bot=…&token=…&embed=1) in a panel. Options (data-*):
//   data-mode="inline"        render the chat in place instead of a launcher
//   data-target="#css-sel"    the element to render into (inline; default: after the script)
//   data-label="Need help?"   the launcher's text
//   data-height="560px"       the height of the inline chat
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var ds = script.dataset;
  if (!ds.bot || !ds.token) {
    if (window.console) console.error('switchboard widget: data-bot and data-token are required');
    return;
  }
  var origin = new URL(script.src, location.href).origin;
  var src = origin + '/?' + new URLSearchParams({ bot: ds.bot, token: ds.token, embed: '1' }).toString();

  function frame() {
    var f = document.createElement('iframe');
    f.src = src;
    f.title = 'Chat';
    f.setAttribute('allow', 'clipboard-write');
    f.style.cssText = 'border:0;width:100%;height:100%;display:block;background:#fff';
    return f;
  }

  if (ds.mode === 'inline') {
    var box = document.createElement('div');
    box.style.cssText = 'width:100%;height:' + (ds.height || '560px') + ';border:1px solid #c9d0d9;border-radius:10px;overflow:hidden';
    box.appendChild(frame());
    var target = ds.target && document.querySelector(ds.target);
    if (target) target.appendChild(box);
    else script.parentNode.insertBefore(box, script.nextSibling);
    return;
  }

  var id = 'switchboard-chat-' + Math.random().toString(36).slice(2);
  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = ds.label || 'Chat with us';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', id);
  button.style.cssText = 'position:fixed;right:16px;bottom:16px;z-index:2147483646;min-height:48px;padding:0 20px;' +
    'border:0;border-radius:24px;background:#0b5cad;color:#fff;font:600 16px system-ui,sans-serif;cursor:pointer;' +
    'box-shadow:0 2px 10px rgba(0,0,0,.25)';
  var panel = document.createElement('div');
  panel.id = id;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', 'Chat');
  panel.hidden = true;
  panel.style.cssText = 'position:fixed;right:16px;bottom:76px;z-index:2147483647;width:min(380px,calc(100vw - 32px));' +
    'height:min(600px,calc(100vh - 96px));border-radius:12px;overflow:hidden;box-shadow:0 4px 24px rgba(0,0,0,.3);background:#fff';
  var loaded = false;

  function open(yes) {
    if (yes && !loaded) {
      panel.appendChild(frame());
      loaded = true;
    }
    panel.hidden = !yes;
    button.setAttribute('aria-expanded', String(yes));
    button.textContent = yes ? 'Close chat' : (ds.label || 'Chat with us');
    if (yes) panel.firstChild.focus();
  }
  button.addEventListener('click', function () { open(panel.hidden); });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !panel.hidden) { open(false); button.focus(); }
  });
  document.body.appendChild(panel);
  document.body.appendChild(button);
})();
