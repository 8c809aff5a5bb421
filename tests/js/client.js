// The pure parts of the browser client, loaded as node loads a CommonJS module.
module.exports = require("../../static/htag-sse.js");
