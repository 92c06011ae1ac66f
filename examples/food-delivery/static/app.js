// The customer's page: a WebSocket to balrog-wsgi's /ws endpoint (the customer cookie the
// page came with identifies it: balrog.ws), and a form that POSTs the order to the Django
// view. The view's WebSocket message shows up in the list.
"use strict";

function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

const status = document.getElementById("status");
const button = document.getElementById("place-order");
const answer = document.getElementById("answer");
const messages = document.getElementById("messages");

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  ws.onopen = () => {
    status.textContent = "connected";
    button.disabled = false;
  };
  ws.onmessage = (event) => {
    const li = document.createElement("li");
    li.className = "message";
    li.textContent = event.data;
    messages.appendChild(li);
  };
  ws.onclose = () => {
    status.textContent = "disconnected: reconnecting…";
    button.disabled = true;
    setTimeout(connect, 1000);
  };
}

document.getElementById("order-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  answer.className = "";
  answer.textContent = "placing the order…";
  try {
    const r = await fetch("/orders", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRFToken": cookie("csrftoken")},
      body: JSON.stringify({
        dish: document.getElementById("dish").value,
        quantity: Number(document.getElementById("quantity").value),
        address: document.getElementById("address").value,
      }),
    });
    const body = await r.json();
    if (r.status === 201) {
      answer.textContent = `Order #${body.order} placed.`;
    } else {
      answer.className = "error";
      answer.textContent = `The order failed (${r.status}): ${body.error || JSON.stringify(body)}`;
    }
  } catch (e) {
    answer.className = "error";
    answer.textContent = `The order failed: ${e}`;
  }
});

connect();
