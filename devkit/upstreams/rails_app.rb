# The differential-test route set on Rails' router (ActionDispatch, Debian's ruby-actionpack), served
# by WEBrick through Rack: routes written the way a Rails app's config/routes.rb writes them, so
# every one takes Rails' default optional format suffix (`/api/admin.json` runs the admin action).
# Usage: ruby rails_app.rb [port]; prints "listening <port>" once it accepts connections.
require 'json'
require 'action_dispatch'
require 'rack'
require 'webrick'

IDENTITY_HEADERS = %w[x-user-id x-scopes x-ticks-charged].freeze

def reply(handler)
  lambda do |env|
    headers = {}
    IDENTITY_HEADERS.each do |name|
      key = 'HTTP_' + name.upcase.tr('-', '_')
      headers[name] = env[key] if env.key?(key)
    end
    body = JSON.generate(server: 'rails', handler: handler, path: env['PATH_INFO'].to_s.dup.force_encoding('UTF-8').scrub,
                         target: env['REQUEST_URI'].to_s.dup.force_encoding('UTF-8').scrub, headers: headers)
    [200, { 'Content-Type' => 'application/json', 'Content-Length' => body.bytesize.to_s }, [body]]
  end
end

ROUTES = ActionDispatch::Routing::RouteSet.new
ROUTES.draw do
  match '/api/admin', to: reply('admin'), via: :all
  match '/api/admin/*rest', to: reply('admin'), via: :all
  post '/api/tasks', to: reply('tasks')
  match '/api/*rest', to: reply('other'), via: :all
end

# no route: Rails answers 404 (ActionDispatch::Routing::RouteSet does when nothing matches)
server = WEBrick::HTTPServer.new(Port: (ARGV[0] || 0).to_i, BindAddress: '127.0.0.1',
                                 Logger: WEBrick::Log.new(File::NULL), AccessLog: [])
server.mount '/', Rack::Handler::WEBrick, ROUTES
trap('TERM') { server.shutdown }
trap('INT') { server.shutdown }
puts "listening #{server.config[:Port]}"
$stdout.flush
server.start
