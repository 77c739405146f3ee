// The widget's own styles, inside its shadow root: the page's cannot reach in, these cannot leak out.
export const STYLE = `
:host{all:initial}
*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}
.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border:0;border-radius:50%;background:#2563eb;color:#fff;font-size:24px;cursor:pointer;box-shadow:0 4px 12px #0003;z-index:2147483000}
.panel{position:fixed;right:20px;bottom:20px;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 40px);display:flex;flex-direction:column;background:#fff;color:#111;border-radius:12px;box-shadow:0 8px 30px #0004;overflow:hidden;z-index:2147483000}
[hidden]{display:none!important}
header{display:flex;justify-content:space-between;align-items:center;padding:12px 16px;background:#2563eb;color:#fff;font-weight:600}
.offline header{background:#6b7280}
.close{background:none;border:0;color:inherit;font-size:20px;cursor:pointer}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.msg{display:flex;flex-direction:column;max-width:85%}
.msg.visitor{align-self:flex-end;align-items:flex-end}
.bubble{margin:0;padding:8px 12px;border-radius:14px;background:#f1f5f9;white-space:pre-wrap;overflow-wrap:anywhere}
.visitor .bubble{background:#2563eb;color:#fff}
.pending{opacity:.6}
.failed .bubble{background:#dc2626}
.quick,.buttons{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}
.chip,.button{padding:6px 10px;border:1px solid #2563eb;border-radius:14px;background:#fff;color:#2563eb;cursor:pointer;text-decoration:none}
.buttons{flex-direction:column}
.cards{display:flex;gap:8px;overflow-x:auto}
.card{min-width:200px;max-width:220px;display:flex;flex-direction:column;gap:4px;padding:8px;border:1px solid #e2e8f0;border-radius:10px}
img{max-width:100%;border-radius:8px}
figure{margin:0}
.typing{padding:0 16px 8px}
.typing i{display:inline-block;width:6px;height:6px;margin-right:3px;border-radius:50%;background:#94a3b8;animation:b 1s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes b{50%{opacity:.3}}
.notice{padding:6px 16px;background:#fef2f2;color:#991b1b}
.compose{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e8f0}
.input{flex:1;padding:8px 10px;border:1px solid #cbd5e1;border-radius:8px}
.send{padding:8px 12px;border:0;border-radius:8px;background:#2563eb;color:#fff;cursor:pointer}
`;
