agentry_test(controllers_unit_test LABEL unit SOURCES
  unit/controllers/capacity_planner_test.cc
  unit/controllers/agent_render_test.cc
  LIBS agentry_controllers
)
