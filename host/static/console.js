// Tollgate console: progressive enhancements only; every page works without this script.
// Served from this server (the console's Content-Security-Policy allows scripts from 'self' only).
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  // After a save that failed, or a preview, bring the answer into view for keyboard and
  // screen-reader users.
  const answer = document.getElementById('problems') || document.getElementById('preview');
  if (answer) answer.focus();

  // The audit log's live tail: polls for events newer than the newest shown.
  const tail = document.getElementById('tail');
  const rows = document.getElementById('audit-rows');
  if (!tail || !rows) return;
  tail.hidden = false;
  const toggle = document.getElementById('tail-on');
  const status = document.getElementById('tail-status');
  let after = Number(tail.dataset.after || '0');
  let timer = null;

  const cell = (text, code) => {
    const td = document.createElement('td');
    if (code) {
      const c = document.createElement('code');
      c.textContent = text;
      td.append(c);
    } else {
      td.textContent = text;
    }
    return td;
  };

  const poll = async () => {
    const query = new URLSearchParams(tail.dataset.filters || '');
    query.set('after', String(after));
    try {
      const response = await fetch('/console/audit/events?' + query, { credentials: 'same-origin' });
      if (!response.ok) {
        status.textContent = response.status === 401 ? 'Signed out: reload to sign in.' : 'Could not read new events.';
        return;
      }
      const { events, more } = await response.json();
      // Oldest first: each goes on top, so the newest ends there.
      for (const e of events) {
        const tr = document.createElement('tr');
        tr.className = 'fresh';
        tr.append(cell(e.at), cell(e.event, true), cell(e.client), cell(e.user), cell(e.summary));
        rows.prepend(tr);
        after = Math.max(after, e.seq);
      }
      status.textContent = events.length ? `${events.length} new` : '';
      // A full page: more are waiting; read on now rather than at the next tick.
      if (more && toggle.checked) setTimeout(poll, 0);
    } catch {
      status.textContent = 'Could not read new events.';
    }
  };

  toggle.addEventListener('change', () => {
    if (toggle.checked) {
      poll();
      timer = setInterval(poll, 2000);
    } else {
      clearInterval(timer);
      status.textContent = '';
    }
  });
});
