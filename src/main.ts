// `npm start`: the API server on the configured storage (embedded PGlite when nothing is set).
import './cli.js';
